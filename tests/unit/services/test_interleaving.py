"""Randomized interleavings: no unit lost, none invented, whatever the order of events.

Each schedule draws a random sequence (and concurrent groups) of: B2B changes written
straight to the table, Shopify sales and merchant edits, webhooks delivered late, twice,
out of order or never, syncs and pending passes, Shopify outages and throttling, and
writes Shopify applied whose answer was lost. Then the faults stop and one reconcile
runs, and every product must satisfy:

- ``b2c_stock == Shopify's available == shopify_base`` (both sides agree);
- final == initial + every B2B change + every Shopify change (no lost update);
- the logged ``b2c_stock`` deltas sum to the final value (the log accounts for every unit).

SHOPIFY_SYNC_SCHEDULES sets how many schedules run (default 300), SHOPIFY_SYNC_SEED the seed.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from shopify_sync.domain.commands import ApplyInventoryLevel, OrderLine, RecordOrder, WebhookMeta
from shopify_sync.errors import RateLimited
from shopify_sync.services import handlers
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.sync.report import SyncPolicy, SyncReport
from shopify_sync.types import InventoryItemId, LocationId, VariantId
from tests.fakes import LevelEvent, unavailable
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio

SCHEDULES = int(os.environ.get("SHOPIFY_SYNC_SCHEDULES", "300"))
SEED = int(os.environ.get("SHOPIFY_SYNC_SEED", "20261124"))
PRODUCTS = 3
STEPS = 30
LOCATION = LocationId(1)


@dataclass
class Tracked:
    """One product of a schedule and the changes both sides made to it."""

    product_id: str
    item: InventoryItemId
    variant: int
    initial: int
    ours_changes: int = 0
    shopify_changes: int = 0


@dataclass
class Schedule:
    """The state of one randomized run."""

    rng: random.Random
    world: World
    products: list[Tracked]
    queue: list[LevelEvent] = field(default_factory=list)
    seen_events: int = 0
    orders: int = 0
    log: list[str] = field(default_factory=list)

    def pick(self) -> Tracked:
        return self.rng.choice(self.products)

    def collect_events(self) -> None:
        """Move Shopify's new level events into the delivery queue."""
        fresh = self.world.store.events[self.seen_events :]
        self.seen_events = len(self.world.store.events)
        mine = {p.item for p in self.products}
        self.queue.extend(e for e in fresh if e.inventory_item_id in mine)

    # -- actions ------------------------------------------------------------------------

    async def b2b_change(self) -> None:
        product, delta = self.pick(), self.rng.randint(-4, 6)
        product.ours_changes += delta
        self.log.append(f"b2b {product.product_id} {delta:+d}")
        async with self.world.uow.engine.begin() as c:
            await c.execute(
                text(
                    "UPDATE product_inventory SET b2c_stock = b2c_stock + :d WHERE product_id = :p"
                ),
                {"d": delta, "p": product.product_id},
            )

    async def shopify_sale(self) -> None:
        product, quantity = self.pick(), self.rng.randint(1, 3)
        product.shopify_changes -= quantity
        self.log.append(f"sale {product.product_id} -{quantity}")
        self.world.store.sell(product.item, quantity)
        self.orders += 1
        if self.rng.random() < 0.7:
            meta = WebhookMeta(
                f"order-{self.orders}-{product.product_id}", None, "orders/create", None, None
            )
            line = OrderLine(1, VariantId(product.variant), None, quantity)
            await handlers.record_order(
                RecordOrder(meta, self.orders, f"#{self.orders}", False, (line,)),
                self.world.uow,
                self.world.clock,
            )

    async def merchant_edit(self) -> None:
        product, delta = self.pick(), self.rng.randint(-3, 8)
        product.shopify_changes += delta
        self.log.append(f"edit {product.product_id} {delta:+d}")
        self.world.store.sell(product.item, -delta)

    async def deliver(self) -> None:
        self.collect_events()
        if not self.queue:
            return
        event = self.queue.pop(self.rng.randrange(len(self.queue)))  # any order
        roll = self.rng.random()
        if roll < 0.15:
            self.log.append(f"drop {event.event_id}")
            return
        if roll < 0.35:
            self.queue.append(event)  # delivered again later
        self.log.append(f"deliver {event.event_id} available={event.available}")
        meta = WebhookMeta(
            event.event_id, f"w-{event.event_id}", "inventory_levels/update", None, None
        )
        await handlers.apply_inventory_level(
            ApplyInventoryLevel(
                meta, event.inventory_item_id, LOCATION, event.available, event.updated_at
            ),
            self.world.levels,
            self.world.clock,
            LOCATION,
        )

    async def sync_one(self) -> None:
        product = self.pick()
        self.log.append(f"sync {product.product_id}")
        async with self.world.uow() as unit:
            row = await unit.products.get(product.product_id)
        assert row is not None
        await self.world.engine.sync([row], source="api:sync")

    async def pending(self) -> None:
        self.log.append("pending")
        await handlers.push_pending(self.world.uow, self.world.engine, self.world.clock)

    async def fault(self) -> None:
        roll = self.rng.random()
        if roll < 0.4:
            self.log.append("fault outage")
            self.world.store.fail_next.append(unavailable())
        elif roll < 0.6:
            self.log.append("fault throttled")
            self.world.store.fail_next.append(RateLimited("Throttled", 1.0))
        elif roll < 0.85:
            self.log.append("fault lost answer")
            self.world.store.lose_next_response += 1
        else:
            product = self.pick()
            self.log.append(f"fault sale during push {product.product_id}")

            def racing_sale() -> None:
                product.shopify_changes -= 1
                self.world.store.sell(product.item, 1)

            self.world.store.before_write.append(racing_sale)

    ACTIONS = (
        (b2b_change, 4), (shopify_sale, 3), (merchant_edit, 1), (deliver, 6),
        (sync_one, 3), (pending, 2), (fault, 1),
    )  # fmt: skip

    async def step(self) -> None:
        actions, weights = zip(*self.ACTIONS, strict=True)
        group = self.rng.choices(actions, weights=weights, k=self.rng.choice((1, 1, 2, 3)))
        # Several actions at once really interleave at every await (database, store calls).
        await asyncio.gather(*(action(self) for action in group))
        self.world.clock.advance(self.rng.choice((0.0, 0.2, 0.5, 1.0, 1.5)))


async def _settle(schedule: Schedule) -> SyncReport:
    """Faults stop; the webhooks still in flight arrive or are lost; one reconcile runs."""
    store, world = schedule.world.store, schedule.world
    store.fail_next.clear()
    store.lose_next_response = 0
    store.before_write.clear()
    while schedule.queue or len(store.events) > schedule.seen_events:
        await schedule.deliver()
    world.clock.advance(3600)  # past every backoff
    report = SyncReport()
    await world.engine.resend_in_flight(None, report, "reconcile")
    async with world.uow() as unit:
        rows = await unit.products.get_many([p.product_id for p in schedule.products])
    report = await world.engine.sync(rows, source="reconcile")
    return report


@pytest.mark.parametrize("batch", range(max(1, SCHEDULES // 50)))
async def test_random_interleavings_lose_no_unit(world: World, batch: int) -> None:
    """After random interleavings and one reconcile, both sides agree and every unit is counted."""
    world.engine = SyncEngine(world.uow, world.store, world.clock, SyncPolicy(max_attempts=1000))
    per_batch = min(50, SCHEDULES)
    for index in range(per_batch):
        seed = SEED + batch * 1000 + index
        rng = random.Random(seed)
        products = []
        for n in range(PRODUCTS):
            start = rng.randint(0, 20)
            variant = 90_000_000_000 + seed * 10 + n
            pid, item = await world.product(ours=start, base=start, shopify=start, variant=variant)
            products.append(Tracked(pid, InventoryItemId(item), variant, start))
        schedule = Schedule(rng, world, products)
        schedule.seen_events = len(world.store.events)
        for _ in range(STEPS):
            await schedule.step()
        await _settle(schedule)

        for product in products:
            ours, base = await world.row(product.product_id)
            theirs = world.store.available(product.item)
            expected = product.initial + product.ours_changes + product.shopify_changes
            context = f"seed {seed}, {product.product_id}: " + "; ".join(schedule.log)
            assert (ours, theirs, base) == (expected, expected, expected), context
            assert await world.b2c_ledger(product.product_id) == expected, context
            async with world.uow() as unit:
                row = await unit.products.get(product.product_id)
            assert row is not None and row.push_key is None, context
