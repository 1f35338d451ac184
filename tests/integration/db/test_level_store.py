"""The webhook level store on real SQLite and PostgreSQL: batches, de-duplication, conflicts."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import random
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db import level_store
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.level_store import create_level_store
from shopify_sync.adapters.db.tables import inventory_sync_log, product_inventory, webhook_events
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.commands import ApplyInventoryLevel, WebhookMeta
from shopify_sync.domain.inbound import (
    DUPLICATE,
    INVENTORY_TOPIC,
    SOURCE,
    LevelPlan,
    LevelView,
    WebhookOutcome,
    plan_levels,
)
from shopify_sync.errors import StorageError, WriteConflict
from shopify_sync.services import handlers
from shopify_sync.services.ports import LevelStore
from shopify_sync.types import InventoryItemId, LocationId
from tests.factories import UNREACHABLE, random_item_id, random_product_id
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
"""FakeClock's start: when the store records a delivery."""
T0 = datetime(2026, 5, 1, 9, 0, 0, tzinfo=UTC)
"""Shopify's ``updated_at`` of the deliveries: whole seconds from here."""
LOCATION = LocationId(1)
SHOP = "demo.myshopify.com"
DUP = WebhookOutcome(None, DUPLICATE, duplicate=True)

LogRow = tuple[str, str, str, int | None, int | None, int, str | None]


def at(seconds: int) -> datetime:
    """A Shopify timestamp ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def level(
    event_id: str,
    item: int,
    available: int | None,
    updated_at: datetime | None,
    *,
    webhook_id: str | None = None,
) -> ApplyInventoryLevel:
    """An ``inventory_levels/update`` delivery at our location."""
    meta = WebhookMeta(event_id, webhook_id or f"w-{event_id}", INVENTORY_TOPIC, SHOP, updated_at)
    return ApplyInventoryLevel(meta, InventoryItemId(item), LOCATION, available, updated_at)


def planner(cmds: Sequence[ApplyInventoryLevel]) -> Callable[[LevelView], LevelPlan]:
    """The plan ``handlers.apply_inventory_levels`` would pass, with the clock at NOW."""
    return functools.partial(plan_levels, cmds, now=NOW, location_id=LOCATION)


def applied(pid: str, available: int, delta: int) -> WebhookOutcome:
    """The outcome of a delivery applied to ``pid`` (it moved the stock unless ``delta`` 0)."""
    return WebhookOutcome(
        "processed", f"{pid}: available {available}, b2c_stock {delta:+d}", moved=int(delta != 0)
    )


async def insert_product(
    engine: AsyncEngine, *, b2c: int, base: int | None, seen_at: datetime | None = None
) -> tuple[str, int]:
    """A linked, enabled product with an agreed base, as a first sync leaves it."""
    pid, item = random_product_id(), random_item_id()
    async with engine.begin() as c:
        await c.execute(
            insert(product_inventory).values(
                product_id=pid,
                sku=f"SKU-{pid}",
                b2b_stock=0,
                b2c_stock=b2c,
                shopify_variant_id="123",
                shopify_inventory_item_id=item,
                sync_enabled=True,
                shopify_base=base,
                shopify_seen_at=seen_at,
                allocation_policy=None if base is None else "split",
                pool_base=base,
            )
        )
    return pid, item


async def row(engine: AsyncEngine, pid: str) -> tuple[int, int | None, datetime | None]:
    """The product's (b2c_stock, shopify_base, shopify_seen_at)."""
    t = product_inventory
    async with engine.connect() as c:
        result = await c.execute(
            select(t.c.b2c_stock, t.c.shopify_base, t.c.shopify_seen_at).where(
                t.c.product_id == pid
            )
        )
        found = result.one()
    return found[0], found[1], found[2]


async def inbound_log(engine: AsyncEngine, pid: str) -> list[LogRow]:
    """The product's inbound log rows, oldest first."""
    g = inventory_sync_log
    async with engine.connect() as c:
        result = await c.execute(
            select(
                g.c.direction, g.c.source, g.c.field, g.c.old_value, g.c.new_value, g.c.delta,
                g.c.reference,
            )
            .where(g.c.product_id == pid, g.c.direction == "inbound")
            .order_by(g.c.id)
        )  # fmt: skip
        return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in result]


async def recorded(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """Every ``webhook_events`` row, by event id."""
    w = webhook_events
    async with engine.connect() as c:
        result = await c.execute(
            select(
                w.c.event_id, w.c.webhook_id, w.c.topic, w.c.shop_domain, w.c.triggered_at,
                w.c.received_at, w.c.processed_at, w.c.status, w.c.detail,
            ).order_by(w.c.event_id)
        )  # fmt: skip
        return [tuple(r) for r in result]


def change(old: int, new: int, reference: str) -> LogRow:
    """The log row of a webhook's change to b2c_stock."""
    return ("inbound", SOURCE, "b2c_stock", old, new, new - old, reference)


@pytest.fixture(name="store")
async def _store(engine: AsyncEngine, database_url: str) -> AsyncIterator[LevelStore]:
    """The level store of the migrated database on each backend."""
    store = create_level_store(SqlUnitOfWorkFactory(engine), database_url)
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture(name="open_store")
async def _open_store(
    postgres_database_url: str, pg_engine: AsyncEngine
) -> AsyncIterator[Callable[[], LevelStore]]:
    """Opens level stores on the PostgreSQL schema, each as another process would."""
    opened: list[LevelStore] = []

    def open_store() -> LevelStore:
        store = create_level_store(SqlUnitOfWorkFactory(pg_engine), postgres_database_url)
        opened.append(store)
        return store

    try:
        yield open_store
    finally:
        for store in opened:
            await store.aclose()


# -- both backends -----------------------------------------------------------------------


async def test_batch_applies_every_delivery_and_commits(
    engine: AsyncEngine, store: LevelStore, database_url: str
) -> None:
    """A batch over three products moves each by available - base, records each delivery
    as processed with one log row per change, and is visible from a fresh connection."""
    a, item_a = await insert_product(engine, b2c=20, base=10)
    b, item_b = await insert_product(engine, b2c=7, base=7, seen_at=at(0))
    c, item_c = await insert_product(engine, b2c=9, base=4)
    cmds = [level("e-a", item_a, 8, at(1)), level("e-b", item_b, 12, at(1))]
    cmds.append(level("e-c", item_c, 1, at(2)))

    outcomes = await handlers.apply_inventory_levels(cmds, store, FakeClock(), LOCATION)

    fresh = create_engine(database_url)
    try:
        rows = [await row(fresh, pid) for pid in (a, b, c)]
        logs = [await inbound_log(fresh, pid) for pid in (a, b, c)]
        events = await recorded(fresh)
    finally:
        await fresh.dispose()

    assert outcomes == [applied(a, 8, -2), applied(b, 12, 5), applied(c, 1, -3)]
    assert rows == [(18, 8, at(1)), (12, 12, at(1)), (6, 1, at(2))]
    assert logs == [[change(20, 18, "e-a")], [change(7, 12, "e-b")], [change(9, 6, "e-c")]]
    assert events == [
        ("e-a", "w-e-a", INVENTORY_TOPIC, SHOP, at(1), NOW, NOW, "processed", outcomes[0].detail),
        ("e-b", "w-e-b", INVENTORY_TOPIC, SHOP, at(1), NOW, NOW, "processed", outcomes[1].detail),
        ("e-c", "w-e-c", INVENTORY_TOPIC, SHOP, at(2), NOW, NOW, "processed", outcomes[2].detail),
    ]


async def test_same_product_twice_in_a_batch_equals_one_by_one(
    engine: AsyncEngine, store: LevelStore
) -> None:
    """Two deliveries for one product in one batch leave the row and the log exactly as
    the same two deliveries applied in two batches do."""
    together, item_t = await insert_product(engine, b2c=20, base=10)
    apart, item_a = await insert_product(engine, b2c=20, base=10)
    both = [level("t-1", item_t, 8, at(1)), level("t-2", item_t, 5, at(2))]
    one, two = [level("a-1", item_a, 8, at(1))], [level("a-2", item_a, 5, at(2))]

    batch = await store.apply_levels(both, planner(both))
    first = await store.apply_levels(one, planner(one))
    second = await store.apply_levels(two, planner(two))

    assert batch.outcomes == (applied(together, 8, -2), applied(together, 5, -3))
    assert (*first.outcomes, *second.outcomes) == (applied(apart, 8, -2), applied(apart, 5, -3))
    assert await row(engine, together) == await row(engine, apart) == (15, 5, at(2))
    assert await inbound_log(engine, together) == [change(20, 18, "t-1"), change(18, 15, "t-2")]
    assert await inbound_log(engine, apart) == [change(20, 18, "a-1"), change(18, 15, "a-2")]


async def test_duplicate_event_ids_change_nothing(engine: AsyncEngine, store: LevelStore) -> None:
    """An event id already recorded, and one repeated inside a batch, are duplicates: only
    the first delivery of each id moves the stock and is recorded."""
    pid, item = await insert_product(engine, b2c=20, base=10)
    clock = FakeClock()
    await handlers.apply_inventory_levels([level("e-1", item, 8, at(1))], store, clock, LOCATION)
    batch = [
        level("e-1", item, 8, at(1)),
        level("e-2", item, 5, at(2)),
        level("e-2", item, 3, at(3), webhook_id="w-other"),
    ]

    outcomes = await handlers.apply_inventory_levels(batch, store, clock, LOCATION)

    assert outcomes == [DUP, applied(pid, 5, -3), DUP]
    assert await row(engine, pid) == (15, 5, at(2))
    assert await inbound_log(engine, pid) == [change(20, 18, "e-1"), change(18, 15, "e-2")]
    assert [(e[0], e[1], e[8]) for e in await recorded(engine)] == [
        ("e-1", "w-e-1", f"{pid}: available 8, b2c_stock -2"),
        ("e-2", "w-e-2", f"{pid}: available 5, b2c_stock -3"),
    ]


async def test_duplicate_delivery_id_changes_nothing(
    engine: AsyncEngine, store: LevelStore
) -> None:
    """A new event id arriving with a delivery (webhook) id already recorded is a duplicate."""
    pid, item = await insert_product(engine, b2c=20, base=10)
    clock = FakeClock()
    await handlers.apply_inventory_levels(
        [level("e-1", item, 8, at(1), webhook_id="w-1")], store, clock, LOCATION
    )

    outcome = await handlers.apply_inventory_level(
        level("e-2", item, 5, at(2), webhook_id="w-1"), store, clock, LOCATION
    )

    assert outcome == DUP
    assert await row(engine, pid) == (18, 8, at(1))
    assert [e[0] for e in await recorded(engine)] == ["e-1"]


def _stale_base(plan: LevelPlan) -> LevelPlan:
    """The last write computed from a base one below the row's (another process moved it)."""
    *kept, last = plan.writes
    assert last.expected_base is not None
    stale = dataclasses.replace(last, expected_base=last.expected_base - 1)
    return dataclasses.replace(plan, writes=(*kept, stale))


def _event_twice(plan: LevelPlan) -> LevelPlan:
    """The first delivery recorded twice (as if another process recorded it meanwhile)."""
    return dataclasses.replace(plan, events=(*plan.events, plan.events[0]))


@pytest.mark.parametrize("spoil", [_stale_base, _event_twice], ids=["stale-base", "event-twice"])
async def test_write_conflict_commits_nothing(
    engine: AsyncEngine, store: LevelStore, spoil: Callable[[LevelPlan], LevelPlan]
) -> None:
    """A planned write that does not land raises WriteConflict and rolls back the whole
    batch (the writes that did land too); the handler then re-plans and succeeds."""
    a, item_a = await insert_product(engine, b2c=20, base=10)
    b, item_b = await insert_product(engine, b2c=30, base=10)
    cmds = [level("e-a", item_a, 8, at(1)), level("e-b", item_b, 12, at(1))]

    def spoiled(view: LevelView) -> LevelPlan:
        return spoil(planner(cmds)(view))

    with pytest.raises(WriteConflict, match="landed; re-planning the batch"):
        await store.apply_levels(cmds, spoiled)
    after_conflict = (
        await row(engine, a),
        await row(engine, b),
        await inbound_log(engine, a) + await inbound_log(engine, b),
        await recorded(engine),
    )
    outcomes = await handlers.apply_inventory_levels(cmds, store, FakeClock(), LOCATION)

    assert after_conflict == ((20, 10, None), (30, 10, None), [], [])
    assert outcomes == [applied(a, 8, -2), applied(b, 12, 2)]
    assert (await row(engine, a), await row(engine, b)) == ((18, 8, at(1)), (32, 12, at(1)))
    assert [e[0] for e in await recorded(engine)] == ["e-a", "e-b"]


# -- SQLite ------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_wal_stays_bounded_under_a_stream_of_batches(
    engine: AsyncEngine, store: LevelStore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints run while this process writes nothing else, so they complete and the WAL
    file is reused instead of growing with every batch (the loop's connection never
    checkpoints; a checkpoint racing the batches never caught up: 1 GB in 20 s)."""
    monkeypatch.setattr(level_store, "CHECKPOINT_EVERY", 10)
    assert isinstance(store, level_store.SqliteLevelStore)
    turn_held: list[bool] = []
    checkpoint = store._checkpoint_wal

    def watched() -> None:
        turn_held.append(store._turn.locked())
        checkpoint()

    monkeypatch.setattr(store, "_checkpoint_wal", watched)
    products = [await insert_product(engine, b2c=500, base=500) for _ in range(40)]
    wal = f"{make_url(database_url).database}-wal"
    sizes: list[int] = []
    second = 0
    for _round in range(4):
        for _ in range(40):  # four checkpoints' worth of batches of 8
            second += 1
            group = products[(second % 5) * 8 : (second % 5) * 8 + 8]
            cmds = [
                level(f"e-{second}-{k}", item, 500 - second, at(second))
                for k, (_, item) in enumerate(group)
            ]
            await handlers.apply_inventory_levels(cmds, store, FakeClock(), LOCATION)
            await asyncio.sleep(0)  # as between requests: a checkpoint may start
        await asyncio.sleep(0.05)  # let the round's last checkpoint finish
        sizes.append(await asyncio.to_thread(os.path.getsize, wal))

    assert turn_held == [True] * 16
    assert sizes[0] > 0
    assert sizes[-1] < 2 * sizes[0], sizes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_batch_waits_for_another_writer_off_the_loop(
    engine: AsyncEngine, store: LevelStore, database_url: str
) -> None:
    """While another process holds the write lock, a batch waits on the store's thread
    (the loop keeps running) and applies once that transaction committed, over its change."""
    pid, item = await insert_product(engine, b2c=20, base=10)
    cmds = [level("e-1", item, 8, at(1))]
    path = make_url(database_url).database
    assert path is not None
    loop = asyncio.get_running_loop()
    timeline: list[str] = []
    threads: list[str] = []

    def plan(view: LevelView) -> LevelPlan:
        threads.append(threading.current_thread().name)
        return planner(cmds)(view)

    def release() -> None:
        other.execute("COMMIT")
        timeline.append("released")

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.01)
            timeline.append("tick")

    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the Inventory Service, mid-transaction
        other.execute(
            "UPDATE product_inventory SET b2c_stock = b2c_stock + 5 WHERE product_id = ?", (pid,)
        )
        handle = loop.call_later(0.3, release)
        ticking = asyncio.create_task(ticker())
        timeline.append("started")
        result = await store.apply_levels(cmds, plan)
        timeline.append("applied")
        handle.cancel()
        ticking.cancel()
    finally:
        other.close()
    waited = timeline[timeline.index("started") : timeline.index("applied")]
    before_release = waited[: waited.index("released")]

    assert result.outcomes == (applied(pid, 8, -2),)
    assert threads == ["sqlite-levels_0"]
    assert waited.count("released") == 1
    assert before_release.count("tick") >= 3  # the loop ran while the batch waited
    assert await row(engine, pid) == (23, 8, at(1))
    assert await inbound_log(engine, pid) == [change(25, 23, "e-1")]


async def test_sqlite_in_memory_database_is_refused() -> None:
    """An in-memory SQLite database is private to its connection: no level store for it."""
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        with pytest.raises(StorageError, match="needs a database file"):
            create_level_store(SqlUnitOfWorkFactory(engine), "sqlite+aiosqlite:///:memory:")
    finally:
        await engine.dispose()


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.mark.postgres
async def test_postgres_racing_duplicates_apply_once(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """The same delivery handled by two processes at once is processed by one and a
    duplicate for the other, and moves the stock once."""
    first, second = open_store(), open_store()
    products = [await insert_product(pg_engine, b2c=20, base=10) for _ in range(10)]
    clock = FakeClock()
    results: list[list[WebhookOutcome]] = []

    for n, (_, item) in enumerate(products):
        cmd = level(f"e-{n}", item, 7, at(1))
        outcomes = await asyncio.gather(
            handlers.apply_inventory_level(cmd, first, clock, LOCATION),
            handlers.apply_inventory_level(cmd, second, clock, LOCATION),
        )
        results.append(sorted(outcomes, key=lambda o: o.duplicate))

    assert results == [[applied(pid, 7, -3), DUP] for pid, _ in products]
    assert [await row(pg_engine, pid) for pid, _ in products] == [(17, 7, at(1))] * 10
    assert [await inbound_log(pg_engine, pid) for pid, _ in products] == [
        [change(20, 17, f"e-{n}")] for n in range(10)
    ]
    assert [e[0] for e in await recorded(pg_engine)] == [f"e-{n}" for n in range(10)]


@pytest.mark.postgres
async def test_postgres_batch_survives_the_server_dropping_its_connection(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """A kept connection the server dropped (a restart, an administrator) is replaced
    without failing the batch: the next delivery applies on a new connection."""
    store = open_store()
    assert isinstance(store, level_store.PostgresLevelStore)
    pid, item = await insert_product(pg_engine, b2c=20, base=10)
    clock = FakeClock()
    await handlers.apply_inventory_levels([level("e-1", item, 9, at(1))], store, clock, LOCATION)
    [kept] = store._idle
    dropped = kept.get_server_pid()
    async with pg_engine.connect() as c:
        await c.execute(select(func.pg_terminate_backend(dropped)))

    outcomes = await handlers.apply_inventory_levels(
        [level("e-2", item, 7, at(2))], store, clock, LOCATION
    )

    assert outcomes == [applied(pid, 7, -2)]
    assert await row(pg_engine, pid) == (17, 7, at(2))
    assert kept.is_closed()
    assert dropped not in [c.get_server_pid() for c in store._idle]


@pytest.mark.postgres
async def test_postgres_batches_reuse_one_plan_per_statement(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """Single-delivery batches run the prepared statements on their generic plans: left
    to choose, PostgreSQL planned them afresh at every execution (half a batch's time)."""
    store = open_store()
    assert isinstance(store, level_store.PostgresLevelStore)
    pid, item = await insert_product(pg_engine, b2c=20, base=10)
    clock = FakeClock()
    for n in range(8):
        await handlers.apply_inventory_levels(
            [level(f"e-{n}", item, 10 + n, at(n + 1))], store, clock, LOCATION
        )

    [kept] = store._idle
    plans = await kept.fetch("SELECT generic_plans, custom_plans FROM pg_prepared_statements")

    assert await row(pg_engine, pid) == (27, 17, at(8))
    assert len(plans) >= 2
    assert all(p["custom_plans"] == 0 and p["generic_plans"] > 0 for p in plans)


@pytest.mark.postgres
async def test_postgres_racing_redelivery_with_the_same_delivery_id_applies_once(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """A delivery racing a re-delivery with the same delivery (webhook) id but another
    event id in a second process is processed by one and a duplicate for the other."""
    first, second = open_store(), open_store()
    products = [await insert_product(pg_engine, b2c=20, base=10) for _ in range(10)]
    clock = FakeClock()
    results: list[list[WebhookOutcome]] = []

    for n, (_, item) in enumerate(products):
        outcomes = await asyncio.gather(
            handlers.apply_inventory_level(
                level(f"e-{n}", item, 7, at(1), webhook_id=f"w-{n}"), first, clock, LOCATION
            ),
            handlers.apply_inventory_level(
                level(f"w-{n}", item, 7, at(1), webhook_id=f"w-{n}"), second, clock, LOCATION
            ),
        )
        results.append(sorted(outcomes, key=lambda o: o.duplicate))

    assert results == [[applied(pid, 7, -3), DUP] for pid, _ in products]
    assert [await row(pg_engine, pid) for pid, _ in products] == [(17, 7, at(1))] * 10
    assert len(await recorded(pg_engine)) == 10


@pytest.mark.postgres
async def test_postgres_burst_loses_and_doubles_nothing(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """Three processes applying 20 batches each over five shared products, out of order:
    each product ends at its start plus its logged changes, at the newest level Shopify sent,
    and every delivery is recorded once."""
    rng = random.Random(20260501)
    products = [await insert_product(pg_engine, b2c=50 + n, base=100) for n in range(5)]
    deliveries = []
    for k in range(3 * 20 * 4):  # one second apart, so no two share Shopify's second
        pid, item = products[rng.randrange(5)]
        deliveries.append((pid, level(f"e-{k:03d}", item, 1000 + k, at(k))))
    batches = [[cmd for _, cmd in deliveries[k : k + 4]] for k in range(0, len(deliveries), 4)]
    rng.shuffle(batches)
    clock = FakeClock()

    async def process(store: LevelStore, mine: list[list[ApplyInventoryLevel]]) -> list[Any]:
        # As the ingest does: at most parallel_batches of a process's batches in flight.
        gate = asyncio.Semaphore(store.parallel_batches)

        async def one(cmds: list[ApplyInventoryLevel]) -> list[WebhookOutcome]:
            async with gate:
                return await handlers.apply_inventory_levels(cmds, store, clock, LOCATION)

        return await asyncio.gather(*(one(cmds) for cmds in mine))

    done = await asyncio.gather(*(process(open_store(), batches[s::3]) for s in range(3)))
    outcomes = {
        cmd.meta.event_id: outcome
        for s, results in enumerate(done)
        for cmds, result in zip(batches[s::3], results, strict=True)
        for cmd, outcome in zip(cmds, result, strict=True)
    }
    moved = sorted(e for e, o in outcomes.items() if ": available " in o.detail)
    newest = {pid: cmd for pid, cmd in deliveries}  # the last one sent for each product
    async with pg_engine.connect() as c:
        count = await c.scalar(select(func.count()).select_from(webhook_events))
    logs = {pid: await inbound_log(pg_engine, pid) for pid, _ in products}

    assert len(outcomes) == 240 and count == 240
    assert not [o for o in outcomes.values() if o.duplicate or o.refresh]
    assert len(moved) < 240  # some batches arrived after newer ones: their levels were stale
    assert [o.status for o in outcomes.values()].count("processed") == len(moved)
    assert sorted(r[6] for log in logs.values() for r in log if r[6] is not None) == moved
    for n, (pid, _) in enumerate(products):
        latest = newest[pid]
        assert latest.available is not None
        assert await row(pg_engine, pid) == (
            50 + n + sum(r[5] for r in logs[pid]),
            latest.available,
            latest.updated_at,
        )
        assert 50 + n + sum(r[5] for r in logs[pid]) == 50 + n + latest.available - 100
        assert latest.meta.event_id in moved


_MEANWHILE: dict[str, tuple[dict[str, Any], str | None]] = {
    # A newer level with the same quantity, applied by another process: only the
    # timestamp moves, and this delivery's older level becomes stale.
    "newer-level-same-quantity": (
        {"shopify_seen_at": at(3)},
        "stale: updated_at 2026-05-01 09:00:02+00:00 is older than the last applied",
    ),
    "sync-disabled": ({"sync_enabled": False}, "sync disabled"),
    "relinked": ({"shopify_inventory_item_id": 1}, None),
}


@pytest.mark.postgres
@pytest.mark.parametrize("meanwhile", list(_MEANWHILE))
async def test_postgres_change_between_read_and_write_is_planned_again(
    pg_engine: AsyncEngine,
    open_store: Callable[[], LevelStore],
    monkeypatch: pytest.MonkeyPatch,
    meanwhile: str,
) -> None:
    """A batch reads without locks, then writes in one statement that compare-and-sets
    on everything the plan read. A row another process changes in between (a newer level
    of the same quantity, sync disabled, a relink) fails that statement as a whole, and
    the batch is read again under locks and planned on the new row."""
    store = open_store()
    assert isinstance(store, level_store.PostgresLevelStore)
    pid, item = await insert_product(pg_engine, b2c=20, base=10, seen_at=at(1))
    other, other_item = await insert_product(pg_engine, b2c=5, base=5, seen_at=at(1))
    values, detail = _MEANWHILE[meanwhile]
    reads: list[bool] = []
    read = store._read

    async def read_then_change(connection: Any, sql: Any, cmds: Any) -> LevelView:
        view = await read(connection, sql, cmds)
        reads.append(sql is store._sql.read)
        if len(reads) == 1:
            async with pg_engine.begin() as c:
                # A locked read would make this wait for ever: fail instead.
                await c.execute(text("SET LOCAL lock_timeout = '5s'"))
                await c.execute(
                    product_inventory.update()
                    .where(product_inventory.c.product_id == pid)
                    .values(**values)
                )
        return view

    monkeypatch.setattr(store, "_read", read_then_change)
    cmds = [level("e-old", item, 8, at(2)), level("e-other", other_item, 7, at(2))]

    outcomes = await handlers.apply_inventory_levels(cmds, store, FakeClock(), LOCATION)

    if detail is None:
        detail = f"no product is linked to inventory item {item}"
    else:
        detail = f"{pid}: {detail}"
    assert reads == [False, True]  # unlocked, then locked
    assert outcomes == [WebhookOutcome("ignored", detail), applied(other, 7, 2)]
    assert (await row(pg_engine, pid))[:2] == (20, 10)
    assert await inbound_log(pg_engine, pid) == []
    assert await row(pg_engine, other) == (7, 7, at(2))
    assert [e[0] for e in await recorded(pg_engine)] == ["e-old", "e-other"]


@pytest.mark.postgres
async def test_postgres_batch_locks_only_what_it_writes(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """The common case reads without locks: a product that another transaction holds
    locked delays only a batch that writes it, not one that merely reads it (here a
    stale level for it, ignored)."""
    store = open_store()
    pid, item = await insert_product(pg_engine, b2c=20, base=10, seen_at=at(1))
    locked, locked_item = await insert_product(pg_engine, b2c=5, base=5, seen_at=at(1))
    cmds = [level("e-1", item, 9, at(2)), level("e-stale", locked_item, 4, at(0))]
    async with pg_engine.connect() as holder:
        await holder.begin()
        await holder.execute(
            select(product_inventory.c.product_id)
            .where(product_inventory.c.product_id == locked)
            .with_for_update()
        )
        batch = asyncio.create_task(
            handlers.apply_inventory_levels(cmds, store, FakeClock(), LOCATION)
        )
        # Not a speed check: a batch waiting for the lock would wait for ever.
        done, _ = await asyncio.wait({batch}, timeout=5)
        await holder.rollback()
    outcomes = await batch

    assert done, "the batch waited for a lock on a product it does not write"
    assert outcomes[0] == applied(pid, 9, -1)
    assert (outcomes[1].status, outcomes[1].detail.split(": ")[1]) == ("ignored", "stale")
    assert await row(pg_engine, pid) == (19, 9, at(2))
    assert await row(pg_engine, locked) == (5, 5, at(1))


@pytest.mark.postgres
async def test_postgres_opposite_orders_do_not_deadlock(
    pg_engine: AsyncEngine, open_store: Callable[[], LevelStore]
) -> None:
    """Two processes applying batches that name the same two products in opposite orders,
    at once, all commit without a conflict (rows are locked in id order)."""
    first, second = open_store(), open_store()
    (a, item_a), (b, item_b) = [await insert_product(pg_engine, b2c=20, base=10) for _ in "ab"]

    for n in range(1, 11):
        ab = [level(f"ab-{n}-a", item_a, 10 + 2 * n, at(2 * n))]
        ab.append(level(f"ab-{n}-b", item_b, 10 + 2 * n, at(2 * n)))
        ba = [level(f"ba-{n}-b", item_b, 11 + 2 * n, at(2 * n + 1))]
        ba.append(level(f"ba-{n}-a", item_a, 11 + 2 * n, at(2 * n + 1)))
        await asyncio.gather(
            first.apply_levels(ab, planner(ab)), second.apply_levels(ba, planner(ba))
        )

    assert (await row(pg_engine, a), await row(pg_engine, b)) == ((41, 31, at(21)),) * 2


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        pytest.param("sqlite:MISSING", sqlite3.Error, id="sqlite-unopenable-file"),
        pytest.param(UNREACHABLE, OSError, id="postgresql-unreachable"),
    ],
)
async def test_unavailable_database_is_a_storage_error(
    url: str, cause: type[BaseException], tmp_path: Path
) -> None:
    """A database that cannot be opened or reached raises StorageError, not a driver
    exception."""
    if url == "sqlite:MISSING":
        url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'levels.db'}"
    engine = create_engine(url)
    store = create_level_store(SqlUnitOfWorkFactory(engine), url)
    cmds = [level("e-1", 1, 8, at(1))]
    try:
        with pytest.raises(StorageError, match="database unavailable") as raised:
            await store.apply_levels(cmds, planner(cmds))
    finally:
        await store.aclose()
        await engine.dispose()

    assert type(raised.value) is StorageError
    assert isinstance(raised.value.__cause__, cause)
