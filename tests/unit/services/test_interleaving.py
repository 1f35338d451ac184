"""Randomized interleavings: no unit lost, none invented, whatever the order of events.

Each schedule draws products with random allocations (split or shared, buffers, caps, or
the settings' default), synced once (B2B or, in every other pair of batches, Shopify
winning the first sync), and a random sequence (and concurrent groups) of: B2B writes
straight to the table (relative, to ``b2b_stock`` or, under ``split``, ``b2c_stock``),
Shopify sales and merchant edits, webhooks delivered late, twice, out of order or never,
syncs and pending passes, policy changes (``change_allocation``, as ``products allocate``
makes them), Shopify outages and throttling, writes Shopify refused (4xx), and writes
Shopify applied whose answer was lost. Then the faults stop and one reconcile runs, and
every product must satisfy:

- Shopify's available == the agreed base == ``published(pool, allocation)`` (both sides
  agree on what the policy publishes), no write in flight;
- its physical stock == initial + every B2B write + every Shopify change (no lost update);
- the audit trail accounts for every unit (tests/audit.py): per stock column the logged
  deltas sum to its value; the physical stock's changes logged are the B2B writes and
  Shopify's changes, each once; no webhook applied twice.

It runs on SQLite and on PostgreSQL. SHOPIFY_SYNC_SCHEDULES sets how many schedules run on
SQLite (default 300; half as many on PostgreSQL), SHOPIFY_SYNC_SEED the seed.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, POLICIES, Allocation, published
from shopify_sync.domain.commands import (
    ApplyInventoryLevel,
    ChangeAllocation,
    OrderLine,
    ReconcileAll,
    RecordOrder,
    WebhookMeta,
)
from shopify_sync.errors import RateLimited, WriteInFlight
from shopify_sync.services import allocation, handlers
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.sync.report import SyncPolicy
from shopify_sync.types import InitialSource, InventoryItemId, LocationId, ProductId, VariantId
from tests.audit import LOG_QUERY, Tracked, physical, replay
from tests.fakes import FakeStoreClient, LevelEvent, unavailable
from tests.unit.services.conftest import World, open_world_at

pytestmark = pytest.mark.anyio

SCHEDULES = int(os.environ.get("SHOPIFY_SYNC_SCHEDULES", "300"))
SEED = int(os.environ.get("SHOPIFY_SYNC_SEED", "20261124"))
PER_BATCH = 50
PER_DATABASE = {"sqlite": SCHEDULES, "postgresql": max(1, SCHEDULES // 2)}
BATCHES = [
    pytest.param(backend, batch, marks=[pytest.mark.postgres] if backend == "postgresql" else [])
    for backend, count in PER_DATABASE.items()
    for batch in range(max(1, -(-count // PER_BATCH)))
]
PRODUCTS = 3
STEPS = 30
LOCATION = LocationId(1)
DEFAULTS = (DEFAULT_ALLOCATION, Allocation("shared", 2, 30))
"""The settings' allocation (for products without their own), one per batch in turn."""


def _allocation(rng: random.Random) -> Allocation:
    """A random allocation: either policy, often a buffer, often a cap (sometimes 0)."""
    return Allocation(
        rng.choice(POLICIES),
        0 if rng.random() < 0.5 else rng.randint(1, 6),
        None if rng.random() < 0.5 else rng.randint(0, 25),
    )


@dataclass
class Product(Tracked):
    """A product of an in-process schedule: its item and variant on the fake Shopify."""

    item: InventoryItemId = field(kw_only=True)
    variant: int = field(kw_only=True)


@dataclass
class Schedule:
    """The state of one randomized run."""

    rng: random.Random
    world: World
    default: Allocation
    products: list[Product]
    queue: list[LevelEvent] = field(default_factory=list)
    seen_events: int = 0
    orders: int = 0
    log: list[str] = field(default_factory=list)

    def pick(self) -> Product:
        return self.rng.choice(self.products)

    def collect_events(self) -> None:
        """Move Shopify's new level events into the delivery queue."""
        fresh = self.world.store.events[self.seen_events :]
        self.seen_events = len(self.world.store.events)
        mine = {p.item for p in self.products}
        self.queue.extend(e for e in fresh if e.inventory_item_id in mine)

    # -- actions ------------------------------------------------------------------------

    async def b2b_change(self) -> None:
        """A relative write by the B2B platform: to ``b2b_stock`` (its own orders), or to
        ``b2c_stock`` of a ``split`` product (moving units to or from Shopify's pool)."""
        product, delta = self.pick(), self.rng.randint(-4, 6)
        column = self.rng.choice(("b2b_stock", "b2c_stock"))
        only_split = " AND COALESCE(allocation_policy, :default) = 'split'"
        async with self.world.uow.engine.begin() as c:
            result = await c.execute(
                text(
                    f"UPDATE product_inventory SET {column} = {column} + :d WHERE product_id = :p"
                    + (only_split if column == "b2c_stock" else "")
                ),
                {"d": delta, "p": product.product_id, "default": self.default.policy},
            )
        if result.rowcount:
            product.local += delta
            self.log.append(f"b2b {product.product_id} {column} {delta:+d}")

    async def shopify_sale(self) -> None:
        product, quantity = self.pick(), self.rng.randint(1, 3)
        product.shopify -= quantity
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
        product.shopify += delta
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
        if roll < 0.35:
            self.log.append("fault outage")
            self.world.store.fail_next.append(unavailable())
        elif roll < 0.5:
            self.log.append("fault throttled")
            self.world.store.fail_next.append(RateLimited("Throttled", 1.0))
        elif roll < 0.65:
            self.log.append("fault write refused")
            self.world.store.refuse_next += 1
        elif roll < 0.85:
            self.log.append("fault lost answer")
            self.world.store.lose_next_response += 1
        else:
            product = self.pick()
            self.log.append(f"fault sale during push {product.product_id}")

            def racing_sale() -> None:
                product.shopify -= 1
                self.world.store.sell(product.item, 1)

            self.world.store.before_write.append(racing_sale)

    async def change_allocation(self) -> None:
        """The operator changes a product's policy, buffer or cap (``products allocate``),
        pushed at once or left to the pending pass."""
        product, target = self.pick(), _allocation(self.rng)
        cmd = ChangeAllocation(
            ProductId(product.product_id),
            policy=target.policy if self.rng.random() < 0.8 else None,
            buffer=target.buffer if self.rng.random() < 0.8 else None,
            cap=target.cap,
            clear_cap=target.cap is None and self.rng.random() < 0.7,
            reference=f"test:allocate-{len(self.log)}",
            push=self.rng.random() < 0.5,
        )
        try:
            result = await allocation.change_allocation(
                cmd, self.world.uow, self.world.engine, self.world.clock, self.default,
                wait_s=0.5,
            )  # fmt: skip
        except WriteInFlight:
            self.log.append(f"allocate {product.product_id}: a write in flight, refused")
            return
        self.log.append(f"allocate {product.product_id} {result.old} -> {result.new}")

    ACTIONS = (
        (b2b_change, 4), (shopify_sale, 3), (merchant_edit, 1), (deliver, 6),
        (sync_one, 3), (pending, 2), (fault, 1), (change_allocation, 1),
    )  # fmt: skip

    async def step(self) -> None:
        actions, weights = zip(*self.ACTIONS, strict=True)
        group = self.rng.choices(actions, weights=weights, k=self.rng.choice((1, 1, 2, 3)))
        # Several actions at once really interleave at every await (database, store calls).
        await asyncio.gather(*(action(self) for action in group))
        self.world.clock.advance(self.rng.choice((0.0, 0.2, 0.5, 1.0, 1.5)))


async def _start(world: World, default: Allocation, seed: int, rng: random.Random) -> Schedule:
    """The schedule's products, linked and synced once (B2B wins: Shopify shows our pool;
    or Shopify wins: a split pool takes Shopify's quantity, counted as Shopify's change)."""
    products = []
    for n in range(PRODUCTS):
        own = None if rng.random() < 0.25 else _allocation(rng)
        allocation = own or default
        b2b, b2c = rng.randint(0, 30), rng.randint(0, 20)
        variant = 90_000_000_000 + seed * 10 + n
        pid, item = await world.product(
            ours=b2c, base=None, shopify=rng.randint(0, 20), variant=variant, b2b=b2b,
            allocation=own,
        )  # fmt: skip
        initial = physical(allocation.policy, b2b, b2c)
        products.append(
            Product(pid, allocation.policy, initial, item=InventoryItemId(item), variant=variant)
        )
    async with world.uow() as unit:
        rows = await unit.products.get_many([p.product_id for p in products])
    report = await world.engine.sync(rows, source="api:sync")
    assert report.failed == 0, report
    async with world.uow() as unit:
        synced = {row.product_id: row for row in await unit.products.get_many(list(report.results))}
    for product in products:
        row = synced[ProductId(product.product_id)]
        taken = physical(product.policy, row.b2b_stock, row.b2c_stock) - product.initial
        product.shopify += taken  # nonzero only when Shopify won a split pool
    schedule = Schedule(rng, world, default, products)
    schedule.seen_events = len(world.store.events)
    return schedule


async def _settle(schedule: Schedule) -> None:
    """Faults stop; the webhooks still in flight arrive or are lost; one reconcile runs."""
    store, world = schedule.world.store, schedule.world
    store.fail_next.clear()
    store.lose_next_response = 0
    store.refuse_next = 0
    store.before_write.clear()
    while schedule.queue or len(store.events) > schedule.seen_events:
        await schedule.deliver()
    world.clock.advance(3600)  # past every backoff
    summary = await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)
    assert summary.failed == 0, summary


async def _retire(schedule: Schedule) -> None:
    """The schedule's products leave the sync, so the next schedules' reconciles skip them."""
    async with schedule.world.uow.engine.begin() as c:
        for product in schedule.products:
            await c.execute(
                text("UPDATE product_inventory SET sync_enabled = false WHERE product_id = :p"),
                {"p": product.product_id},
            )


async def _check(schedule: Schedule, seed: int) -> None:
    """Both sides agree on what each product's policy publishes, and every unit counts."""
    world = schedule.world
    for product in schedule.products:
        context = f"seed {seed}, {product.product_id}: " + "; ".join(schedule.log)
        async with world.uow() as unit:
            row = await unit.products.get(product.product_id)
        async with world.uow.engine.connect() as c:
            log = (await c.execute(text(LOG_QUERY), {"p": product.product_id})).all()
        assert row is not None, context
        context += f"\nrow {row}\nlog {log}"
        allocation = row.allocation(schedule.default)
        pool = allocation.pool(row.b2b_stock, row.b2c_stock)
        shown = published(pool, allocation)
        theirs = world.store.available(product.item)
        assert row.allocation_policy is not None, context  # its own since its first sync
        agreed = (theirs, row.shopify_base, row.pool_base, row.push_key)
        assert agreed == (shown, shown, pool, None), context
        if allocation.policy == "shared":
            assert row.b2c_stock == shown, context  # the mirror of what Shopify sells
        audit = replay(log, product.policy)
        context += f"\naudit {audit}"
        stocks = {"b2b_stock": row.b2b_stock, "b2c_stock": row.b2c_stock}
        assert (audit.columns, audit.policy) == (stocks, allocation.policy), context
        assert audit.applied_twice == [], context
        assert (audit.local, audit.shopify) == (
            product.initial + product.local,
            product.shopify,
        ), context
        units = physical(allocation.policy, row.b2b_stock, row.b2c_stock)
        assert units == audit.physical == product.expected, context


@pytest.fixture(name="any_world")
async def _any_world(database_url: str) -> AsyncIterator[World]:
    """A world on SQLite or on PostgreSQL."""
    async with open_world_at(database_url, FakeStoreClient) as world:
        yield world


@pytest.mark.parametrize(("database_url", "batch"), BATCHES, indirect=["database_url"])
async def test_random_interleavings_lose_no_unit(
    any_world: World, database_url: str, batch: int
) -> None:
    """After random interleavings and one reconcile, both sides agree on what each product's
    policy publishes and every unit is counted once, in the stocks and in the audit trail."""
    world, default = any_world, DEFAULTS[batch % len(DEFAULTS)]
    source: InitialSource = "shopify" if batch // 2 % 2 else "b2b"
    world.engine = SyncEngine(
        world.uow, world.store, world.clock,
        SyncPolicy(initial_source=source, max_attempts=1000, default_allocation=default),
    )  # fmt: skip
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    for index in range(min(PER_BATCH, PER_DATABASE[backend] - batch * PER_BATCH)):
        seed = SEED + batch * 1000 + index
        rng = random.Random(seed)
        schedule = await _start(world, default, seed, rng)
        for _ in range(STEPS):
            await schedule.step()
        await _settle(schedule)
        await _check(schedule, seed)
        await _retire(schedule)
