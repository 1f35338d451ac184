"""Allocation policies through the whole sync on SQLite and PostgreSQL: the engine, the
webhook hot path and policy changes, against a fake Shopify, with the audit trail checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.level_store import create_level_store
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import ApplyInventoryLevel, ChangeAllocation, WebhookMeta
from shopify_sync.domain.model import Product, SetQuantities, WriteResult
from shopify_sync.services import handlers
from shopify_sync.services.allocation import change_allocation
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import LevelStore
from shopify_sync.services.sync.report import SyncPolicy
from shopify_sync.types import InventoryItemId, LocationId, ProductId
from tests.factories import random_item_id, random_product_id
from tests.fakes import FakeClock, FakeStoreClient

pytestmark = pytest.mark.anyio

LOCATION = LocationId(1)
DEFAULT = Allocation()


class RacingStore(FakeStoreClient):
    """Shopify whose next write is preceded by a B2B sale written straight to our table."""

    racing: tuple[AsyncEngine, str, int] | None = None

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        if self.racing is not None:
            engine, pid, sold = self.racing
            self.racing = None
            async with engine.begin() as c:
                await c.execute(
                    text("UPDATE product_inventory SET b2b_stock = b2b_stock - :n"
                         " WHERE product_id = :p"),
                    {"n": sold, "p": pid},
                )  # fmt: skip
        return await super().set_quantities(write)


@dataclass
class Flow:
    """Our database, its webhook store, a fake Shopify, a clock and the engine."""

    db: AsyncEngine
    uow: SqlUnitOfWorkFactory
    clock: FakeClock
    store: RacingStore
    levels: LevelStore
    engine: SyncEngine

    async def product(
        self, *, b2b: int, b2c: int, shopify: int, allocation: Allocation
    ) -> tuple[ProductId, int]:
        """A linked product with its own allocation, synced once (Shopify then shows the
        published quantity of its pool)."""
        pid, item = random_product_id(), random_item_id()
        self.store.add(item, shopify)
        async with self.db.begin() as c:
            await c.execute(
                text(
                    "INSERT INTO product_inventory (product_id, b2b_stock, b2c_stock,"
                    " shopify_variant_id, shopify_inventory_item_id, sync_enabled,"
                    " allocation_policy, allocation_buffer, allocation_cap)"
                    " VALUES (:p, :b2b, :b2c, '1', :i, true, :policy, :buffer, :cap)"
                ),
                {"p": pid, "b2b": b2b, "b2c": b2c, "i": item, "policy": allocation.policy,
                 "buffer": allocation.buffer, "cap": allocation.cap},
            )  # fmt: skip
        await self.pass_()
        return pid, item

    async def row(self, pid: str) -> Product:
        async with self.uow() as unit:
            product = await unit.products.get(pid)
        assert product is not None
        return product

    async def pass_(self) -> None:
        """One pass of the pending scan: sync every product due."""
        self.clock.advance(2)
        async with self.uow() as unit:
            due = await unit.products.due(self.clock.now())
        if due:
            await self.engine.sync(due, source="pending")
        self.clock.advance(2)

    async def webhook(self, item: int, *, times: int = 1) -> handlers.WebhookOutcome:
        """Shopify's webhook for the item's last change, delivered ``times`` times."""
        event = self.store.events[-1]
        meta = WebhookMeta(event.event_id, f"w-{event.event_id}", "inventory_levels/update",
                           None, None)  # fmt: skip
        cmd = ApplyInventoryLevel(
            meta, InventoryItemId(item), LOCATION, event.available, event.updated_at
        )
        outcome = None
        for _ in range(times):
            outcome = await handlers.apply_inventory_level(cmd, self.levels, self.clock, LOCATION)
        assert outcome is not None
        return outcome

    async def logged(self, pid: str, field: str) -> list[tuple[str, str, int]]:
        """(direction, source, delta) of each logged change of our ``field`` after the insert
        (not the outbound rows, which record Shopify's level)."""
        async with self.db.connect() as c:
            rows = await c.execute(
                text(
                    "SELECT direction, source, delta FROM inventory_sync_log"
                    " WHERE product_id = :p AND field = :f AND old_value IS NOT NULL"
                    " AND direction IN ('inbound', 'local') ORDER BY id"
                ),
                {"p": pid, "f": field},
            )
            return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture(name="flow")
async def _flow(engine: AsyncEngine, database_url: str) -> AsyncIterator[Flow]:
    uow = SqlUnitOfWorkFactory(engine)
    clock = FakeClock()
    store = RacingStore(clock)
    levels = create_level_store(uow, database_url)
    sync = SyncEngine(uow, store, clock, SyncPolicy(max_attempts=3))
    try:
        yield Flow(engine, uow, clock, store, levels, sync)
    finally:
        await levels.aclose()


async def test_a_shopify_sale_of_a_shared_product_lowers_b2b_stock_exactly_once(
    flow: Flow,
) -> None:
    """Shared with buffer 5: a Shopify sale of 3, delivered twice, is one b2b_stock change
    in the log; b2c_stock mirrors what Shopify shows and nothing is pushed back."""
    pid, item = await flow.product(b2b=20, b2c=0, shopify=7, allocation=Allocation("shared", 5))
    writes = len(flow.store.writes)
    flow.store.sell(item, 3)

    await flow.webhook(item, times=2)
    await flow.pass_()

    row = await flow.row(pid)
    assert (flow.store.available(item), len(flow.store.writes) - writes) == (12, 0)
    assert (row.b2b_stock, row.b2c_stock, row.shopify_base, row.pending) == (17, 12, 12, False)
    assert [d for d in await flow.logged(pid, "b2b_stock")] == [
        ("inbound", "webhook:inventory_levels/update", -3)
    ]


async def test_a_b2b_change_of_a_shared_pool_is_pushed_less_the_buffer(flow: Flow) -> None:
    """Shared with buffer 5: the B2B platform writes b2b_stock 20 -> 14; the pending scan
    pushes 9 and b2c_stock mirrors it."""
    pid, item = await flow.product(b2b=20, b2c=0, shopify=15, allocation=Allocation("shared", 5))
    async with flow.db.begin() as c:
        await c.execute(
            text("UPDATE product_inventory SET b2b_stock = 14 WHERE product_id = :p"), {"p": pid}
        )

    await flow.pass_()

    row = await flow.row(pid)
    assert (flow.store.available(item), row.b2c_stock, row.pool_base, row.pending) == (
        9, 9, 14, False,
    )  # fmt: skip


async def test_the_cap_is_restored_after_a_shopify_sale(flow: Flow) -> None:
    """Split with cap 50 and 60 units: a Shopify sale of 5 lowers b2c_stock to 55 and the
    webhook asks for a pass, which sets Shopify back to 50."""
    pid, item = await flow.product(b2b=0, b2c=60, shopify=50, allocation=Allocation(cap=50))
    flow.store.sell(item, 5)

    outcome = await flow.webhook(item)
    await flow.pass_()

    row = await flow.row(pid)
    assert outcome.refresh == (pid,)
    assert (flow.store.available(item), row.b2c_stock, row.shopify_base, row.pending) == (
        50, 55, 50, False,
    )  # fmt: skip


async def test_an_oversold_pool_is_not_covered_up(flow: Flow) -> None:
    """Shared pool of 2 while Shopify sells 5: the pool goes to -3 and Shopify keeps showing
    -3; no write sets it to 0."""
    pid, item = await flow.product(b2b=2, b2c=0, shopify=2, allocation=Allocation("shared"))
    writes = len(flow.store.writes)
    flow.store.sell(item, 5)

    await flow.webhook(item)
    await flow.pass_()

    row = await flow.row(pid)
    assert (flow.store.available(item), len(flow.store.writes) - writes) == (-3, 0)
    assert (row.b2b_stock, row.b2c_stock, row.pending) == (-3, -3, False)


async def test_switching_split_shared_split_keeps_every_unit(flow: Flow) -> None:
    """split -> shared (buffer 2) -> a Shopify sale -> split: Shopify follows each step,
    the physical stock only drops by the sale, and the logged deltas of each stock column
    sum to its final minus initial value."""
    pid, item = await flow.product(b2b=30, b2c=4, shopify=4, allocation=Allocation())

    async def change(**values: object) -> None:
        cmd = ChangeAllocation(ProductId(pid), reference="test", **values)  # type: ignore[arg-type]
        await change_allocation(cmd, flow.uow, flow.engine, flow.clock, DEFAULT)
        flow.clock.advance(2)

    await change(policy="shared", buffer=2)
    shared = await flow.row(pid)
    shown_shared = flow.store.available(item)
    flow.store.sell(item, 1)
    await flow.webhook(item)
    await change(policy="split", buffer=0)
    await flow.pass_()

    row = await flow.row(pid)
    assert (shared.b2b_stock, shown_shared) == (34, 32)
    assert (row.b2b_stock + row.b2c_stock, row.b2c_stock, flow.store.available(item)) == (
        33, 31, 31,
    )  # fmt: skip
    assert sum(d for *_, d in await flow.logged(pid, "b2b_stock")) == row.b2b_stock - 30
    assert sum(d for *_, d in await flow.logged(pid, "b2c_stock")) == row.b2c_stock - 4
    assert row.pending is False


async def test_a_b2b_write_racing_a_push_is_never_lost(flow: Flow) -> None:
    """Shared with buffer 5: while our write of 9 is on its way the B2B platform sells 2
    more; the answer moves the pool relatively, so the sale stays pending and is pushed."""
    pid, item = await flow.product(b2b=20, b2c=0, shopify=15, allocation=Allocation("shared", 5))
    async with flow.db.begin() as c:
        await c.execute(
            text("UPDATE product_inventory SET b2b_stock = 14 WHERE product_id = :p"), {"p": pid}
        )
    flow.store.racing = (flow.db, pid, 2)

    await flow.pass_()
    raced = await flow.row(pid)
    await flow.pass_()

    row = await flow.row(pid)
    assert (raced.b2b_stock, raced.pool_base, raced.pending) == (12, 14, True)
    assert (flow.store.available(item), row.b2b_stock, row.b2c_stock, row.pending) == (
        7, 12, 7, False,
    )  # fmt: skip
