"""Changing a product's allocation (``services.allocation``) on SQLite and PostgreSQL: units
kept, the change logged, bad values refused, and a write in flight waited for."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import ChangeAllocation
from shopify_sync.domain.model import Product
from shopify_sync.errors import InvalidQuantity, InvalidRequest, WriteInFlight
from shopify_sync.services.allocation import WRITE_WAIT_S, change_allocation
from shopify_sync.services.engine import SyncEngine
from shopify_sync.types import ProductId
from tests.factories import random_item_id, random_product_id
from tests.fakes import FakeClock, FakeStoreClient

pytestmark = pytest.mark.anyio

DEFAULT = Allocation()


async def _insert(engine: AsyncEngine, *, b2b: int, b2c: int, key: str | None = None) -> ProductId:
    pid = random_product_id()
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, b2b_stock, b2c_stock,"
                " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
                " allocation_policy, pool_base, push_key, push_quantity, push_expected)"
                " VALUES (:p, :b2b, :b2c, '1', :i, true, :b2c, 'split', :b2c, :k, :b2c, :b2c)"
            ),
            {"p": pid, "b2b": b2b, "b2c": b2c, "i": random_item_id(), "k": key},
        )
    return pid


async def _row(engine: AsyncEngine, pid: str) -> Product:
    async with SqlUnitOfWorkFactory(engine)() as uow:
        product = await uow.products.get(pid)
    assert product is not None
    return product


async def _logged(engine: AsyncEngine, pid: str, field: str) -> list[tuple[str, int, str | None]]:
    async with engine.connect() as c:
        rows = await c.execute(
            text(
                "SELECT source, delta, detail FROM inventory_sync_log"
                " WHERE product_id = :p AND field = :f ORDER BY id"
            ),
            {"p": pid, "f": field},
        )
        return [(r[0], r[1], r[2]) for r in rows]


class _Change:
    """The use case on ``engine``'s database, without pushing (no Shopify involved)."""

    def __init__(self, engine: AsyncEngine, clock: FakeClock | None = None) -> None:
        self.uow = SqlUnitOfWorkFactory(engine)
        self.clock = clock or FakeClock()
        self.engine = SyncEngine(self.uow, FakeStoreClient(self.clock), self.clock)

    async def __call__(self, pid: ProductId, **values: object) -> Product:
        cmd = ChangeAllocation(pid, push=False, reference="test", **values)  # type: ignore[arg-type]
        result = await change_allocation(cmd, self.uow, self.engine, self.clock, DEFAULT)
        return result.after


async def test_switching_split_shared_split_keeps_every_unit(engine: AsyncEngine) -> None:
    """split -> shared pools both stocks in b2b_stock and mirrors what Shopify is to show in
    b2c_stock; back to split, what Shopify showed becomes b2c_stock again; the logged stock
    moves sum to the change and each policy change is one log row saying what changed."""
    pid = await _insert(engine, b2b=30, b2c=4)
    change = _Change(engine)

    shared = await change(pid, policy="shared", buffer=5, cap=20)
    split = await change(pid, policy="split")

    assert (shared.b2b_stock, shared.b2c_stock, shared.pool_base) == (34, 20, 34)
    assert (shared.allocation(DEFAULT), shared.refresh_requested) == (
        Allocation("shared", 5, 20),
        True,
    )
    assert (split.b2b_stock, split.b2c_stock, split.pool_base) == (14, 20, 20)
    assert split.b2b_stock + split.b2c_stock == 34
    b2b, b2c = await _logged(engine, pid, "b2b_stock"), await _logged(engine, pid, "b2c_stock")
    assert sum(d for s, d, _ in b2b if s == "allocation") == 14 - 30
    assert sum(d for s, d, _ in b2c if s == "allocation") == 20 - 4
    assert [s for s, _, _ in b2b + b2c if s != "allocation"] == ["db:direct", "db:direct"]
    assert await _logged(engine, pid, "allocation") == [
        ("allocation", 0, "split -> shared, buffer 0 -> 5, cap none -> 20"),
        ("allocation", 0, "shared -> split"),
    ]


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"policy": "pooled"}, InvalidRequest),
        ({"buffer": -1}, InvalidQuantity),
        ({"cap": -3}, InvalidQuantity),
        ({"cap": 5, "clear_cap": True}, InvalidRequest),
    ],
)
async def test_bad_values_change_nothing(
    engine: AsyncEngine, values: dict[str, object], error: type[Exception]
) -> None:
    """An unknown policy, a negative buffer or cap, or a cap both given and removed is
    refused before anything is written or logged."""
    pid = await _insert(engine, b2b=30, b2c=4)
    before = await _row(engine, pid)

    with pytest.raises(error):
        await _Change(engine)(pid, **values)

    assert await _row(engine, pid) == before
    assert await _logged(engine, pid, "allocation") == []


class _AnsweringClock(FakeClock):
    """A clock whose second sleep lets the write in flight be answered (Shopify applied
    it: the agreed base and b2c_stock move, the key clears), as another task would."""

    def __init__(self, engine: AsyncEngine, pid: str) -> None:
        super().__init__()
        self.engine, self.pid = engine, pid

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if len(self.slept) == 2:
            async with self.engine.begin() as c:
                await c.execute(
                    text(
                        "UPDATE product_inventory SET b2c_stock = 6, shopify_base = 6,"
                        " pool_base = 6, push_key = NULL, push_quantity = NULL,"
                        " push_expected = NULL WHERE product_id = :p"
                    ),
                    {"p": self.pid},
                )


async def test_a_change_waits_for_the_write_in_flight(engine: AsyncEngine) -> None:
    """A switch never overlaps a write to Shopify: it waits for its answer, then moves the
    stocks as the answer left them."""
    pid = await _insert(engine, b2b=30, b2c=4, key="in-flight")
    clock = _AnsweringClock(engine, pid)

    after = await _Change(engine, clock)(pid, policy="shared")

    assert len(clock.slept) == 2
    assert (after.b2b_stock, after.b2c_stock, after.push_key) == (36, 36, None)


async def test_a_write_never_answered_gives_up_changing_nothing(engine: AsyncEngine) -> None:
    """When the write in flight stays unanswered the change gives up after its wait,
    saying to try again, and the row is as it was."""
    pid = await _insert(engine, b2b=30, b2c=4, key="in-flight")
    before = await _row(engine, pid)
    clock = FakeClock()

    with pytest.raises(WriteInFlight, match="try again"):
        await _Change(engine, clock)(pid, policy="shared")

    assert await _row(engine, pid) == before
    assert sum(clock.slept) == pytest.approx(WRITE_WAIT_S)
