"""Repositories and the unit of work on real SQLite and PostgreSQL (migrated, never create_all)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.product_rows import CHUNK
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.model import (
    Change,
    Link,
    LogRecord,
    Product,
    PulledChange,
    QuantityWrite,
    SetQuantities,
    SyncFailure,
    SyncRun,
    WebhookEvent,
)
from shopify_sync.errors import StorageError
from shopify_sync.types import InventoryItemId, ProductId
from tests.conftest import migrated_engine
from tests.factories import UNREACHABLE, pulled, push_start, random_item_id, random_product_id

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)


async def _insert(engine: AsyncEngine, *, b2c: int = 10, base: int | None = 10) -> tuple[str, int]:
    """A linked, enabled product written the way the Inventory Service would."""
    pid, item = random_product_id(), random_item_id()
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock,"
                " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
                " allocation_policy, pool_base)"
                " VALUES (:p, :s, 5, :b2c, '123', :i, true, :base, :policy, :base)"
            ),
            {
                "p": pid,
                "s": f"SKU-{pid}",
                "b2c": b2c,
                "i": item,
                "base": base,
                "policy": None if base is None else "split",
            },
        )
    return pid, item


async def _cas_cases(engine: AsyncEngine) -> tuple[str, str, str]:
    """Three rows for a compare-and-set on base 10: a first sync (no base yet, 7 in stock),
    a base that moved (11) and a push of another key in flight (base 10); 15 in stock."""
    first, _ = await _insert(engine, b2c=7, base=None)
    moved, _ = await _insert(engine, b2c=15, base=11)
    busy, _ = await _insert(engine, b2c=15, base=10)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.products.begin_pushes("other", [push_start(busy, 10, 15, 10, 15)], NOW)
        await uow.commit()
    return first, moved, busy


async def test_direct_writes_are_logged_as_local(engine: AsyncEngine) -> None:
    """A write straight to the table by the Inventory Service lands in the audit log."""
    pid, _ = await _insert(engine, b2c=10)
    async with engine.begin() as c:
        await c.execute(
            text("UPDATE product_inventory SET b2c_stock = 7 WHERE product_id = :p"), {"p": pid}
        )
    uow = SqlUnitOfWorkFactory(engine)()
    async with uow:
        log = await uow.log.recent(product_id=pid)

    assert [(e.direction, e.source, e.field, e.old_value, e.new_value, e.delta) for e in log] == [
        ("local", "db:direct", "b2c_stock", 10, 7, -3),
        ("local", "db:direct", "b2b_stock", None, 5, 5),
        ("local", "db:direct", "b2c_stock", None, 10, 10),
    ]


async def test_apply_inbound_logs_its_change_and_moves_the_base(engine: AsyncEngine) -> None:
    """A Shopify change moves b2c_stock relative to the base and names its source in the log."""
    pid, _ = await _insert(engine, b2c=15, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        applied = await uow.products.apply_inbound(
            [pulled(pid, 10, -2, 8, NOW, "level@1")], source="reconcile", now=NOW
        )
        await uow.commit()
    async with factory() as uow:
        product = await uow.products.get(pid)
        log = await uow.log.recent(product_id=pid, limit=1)

    assert applied == {pid}
    assert product is not None
    assert (product.b2c_stock, product.shopify_base, product.shopify_seen_at) == (13, 8, NOW)
    assert [(e.direction, e.source, e.reference, e.delta) for e in log] == [
        ("inbound", "reconcile", "level@1", -2)
    ]


async def test_apply_inbound_refuses_a_moved_base(engine: AsyncEngine) -> None:
    """A change computed from a stale base is refused, not applied twice."""
    pid, _ = await _insert(engine, b2c=10, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        applied = await uow.products.apply_inbound(
            [pulled(pid, 9, -1, 8, None, None)], source="reconcile", now=NOW
        )
        product = await uow.products.get(pid)

    assert applied == set()
    assert product is not None and product.b2c_stock == 10


async def test_apply_inbound_takes_every_unmoved_row_of_a_batch(engine: AsyncEngine) -> None:
    """Many products in one call, across more than one chunk: each row still as read takes
    its change (a first sync too); a moved base, a push in flight or an unknown id is left
    out and keeps its stock; a later seen_at moves forward, a NULL one keeps it."""
    earlier = NOW - timedelta(hours=1)
    kept = [(await _insert(engine, b2c=20, base=10))[0] for _ in range(CHUNK + 3)]
    first, moved, busy = await _cas_cases(engine)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.mark_synced(kept[:1], {kept[0]: NOW}, earlier)
        await uow.products.record_failures([SyncFailure(ProductId(kept[1]), "boom", None)], earlier)
        await uow.commit()
    changes = [pulled(pid, 10, 2, 12, earlier, "lvl") for pid in kept]
    changes += [
        pulled(first, None, 3, 10, NOW, "lvl"),
        pulled(moved, 10, 2, 12, NOW, "lvl"),
        pulled(busy, 10, 2, 12, NOW, "lvl"),
        PulledChange(ProductId(random_product_id()), 10, 2, 12, NOW, "lvl"),
    ]
    async with factory() as uow:
        applied = await uow.products.apply_inbound(
            changes, source="reconcile", now=NOW, synced=True
        )
        await uow.commit()
    async with factory() as uow:
        rows: dict[str, Product] = {
            p.product_id: p for p in await uow.products.get_many([*kept, first, moved, busy])
        }

    assert applied == {*kept, first}
    assert {(rows[pid].b2c_stock, rows[pid].shopify_base) for pid in kept} == {(22, 12)}
    assert rows[kept[0]].shopify_seen_at == NOW  # never moved back by an older level
    assert rows[kept[2]].shopify_seen_at == earlier
    assert (rows[kept[1]].sync_error, rows[kept[1]].last_synced_at) == (None, NOW)
    assert (rows[first].b2c_stock, rows[first].shopify_base) == (10, 10)
    assert [(rows[p].b2c_stock, rows[p].shopify_base) for p in (moved, busy)] == [
        (15, 11),
        (15, 10),
    ]


async def test_apply_inbound_takes_each_product_once(engine: AsyncEngine) -> None:
    """Two changes to one product in one call are a caller's bug, refused before any write."""
    pid, _ = await _insert(engine, b2c=10, base=10)
    change = pulled(pid, 10, 1, 11, None, None)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        with pytest.raises(ValueError, match="at most once"):
            await uow.products.apply_inbound([change, change], source="reconcile", now=NOW)


async def test_push_lifecycle_keeps_changes_made_in_flight(engine: AsyncEngine) -> None:
    """A push of 14 (CAS 9) over ours 15 / base 10 settles at 14 plus what B2B did meanwhile."""
    pid, _ = await _insert(engine, b2c=15, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        started = ProductId(pid) in await uow.products.begin_pushes(
            "k1", [push_start(pid, 10, 14, 9, 15)], NOW
        )
        second = ProductId(pid) in await uow.products.begin_pushes(
            "k2", [push_start(pid, 10, 14, 9, 15)], NOW
        )
        await uow.commit()
    async with engine.begin() as c:  # the Inventory Service sells 2 more on B2C meanwhile
        await c.execute(
            text("UPDATE product_inventory SET b2c_stock = b2c_stock - 2 WHERE product_id = :p"),
            {"p": pid},
        )
    async with factory() as uow:
        done = await uow.products.finish_push(
            "k1", applied_at=NOW, change=Change("inbound", "api:sync", "k1"), now=NOW
        )
        await uow.commit()
    async with factory() as uow:
        product = await uow.products.get(pid)

    assert (started, second, [p.product_id for p in done]) == (True, False, [pid])
    assert product is not None
    assert (product.b2c_stock, product.shopify_base, product.push_key) == (12, 14, None)
    assert product.pending


async def test_begin_pushes_takes_only_rows_whose_base_and_stock_still_match(
    engine: AsyncEngine,
) -> None:
    """One batch records the write for every unmoved row, also a first sync (no base yet);
    a row whose base moved, whose B2C stock moved (a sale since the merge read it) or that
    has another push in flight is left out."""
    kept, _ = await _insert(engine, b2c=15, base=10)
    sold, _ = await _insert(engine, b2c=12, base=10)
    first, moved, busy = await _cas_cases(engine)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        started = await uow.products.begin_pushes(
            "k",
            [
                push_start(kept, 10, 15, 10, 15),
                push_start(first, None, 7, 3, 7),
                push_start(moved, 10, 15, 10, 15),
                push_start(busy, 10, 15, 10, 15),
                push_start(sold, 10, 15, 10, 15),
            ],
            NOW,
        )
        await uow.commit()
    async with factory() as uow:
        in_flight = await uow.products.in_flight("k")

    assert started == {kept, first}
    assert sorted((p.product_id, p.push_quantity, p.push_expected) for p in in_flight) == sorted(
        [(kept, 15, 10), (first, 7, 3)]
    )


async def test_abandoned_push_leaves_the_row_pending(engine: AsyncEngine) -> None:
    """A refused write clears the in-flight marker and changes no stock."""
    pid, _ = await _insert(engine, b2c=15, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.begin_pushes("k", [push_start(pid, 10, 15, 10, 15)], NOW)
        await uow.products.abandon_push("k", NOW)
        await uow.commit()
    async with factory() as uow:
        product = await uow.products.get(pid)

    assert product is not None
    assert (product.b2c_stock, product.shopify_base, product.push_key) == (15, 10, None)


async def test_due_finds_pending_and_respects_backoff(engine: AsyncEngine) -> None:
    """The pending scan returns owed products that are due, and skips parked or waiting ones."""
    in_sync, _ = await _insert(engine, b2c=10, base=10)
    owed, _ = await _insert(engine, b2c=11, base=10)
    waiting, _ = await _insert(engine, b2c=12, base=10)
    parked, _ = await _insert(engine, b2c=13, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.record_failures(
            [
                SyncFailure(ProductId(waiting), "Shopify unavailable", NOW + timedelta(minutes=1)),
                SyncFailure(ProductId(parked), "Shopify unavailable", None),
            ],
            NOW,
        )
        await uow.commit()
    async with factory() as uow:
        due = {p.product_id for p in await uow.products.due(NOW)}
        later = {p.product_id for p in await uow.products.due(NOW + timedelta(minutes=2))}
        counts = await uow.products.counts()

    assert in_sync not in due and parked not in later
    assert owed in due and waiting not in due and waiting in later
    assert counts["parked"] >= 1 and counts["errors"] >= 2


async def test_uncommitted_work_is_rolled_back(engine: AsyncEngine) -> None:
    """Leaving the unit of work without commit() writes nothing (no half-written row)."""
    pid, _ = await _insert(engine, b2c=10, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.set_stock(pid, b2c_stock=99, change=Change("local", "admin"), now=NOW)
    async with factory() as uow:
        product = await uow.products.get(pid)
        log = await uow.log.recent(product_id=pid)

    assert product is not None and product.b2c_stock == 10
    assert all(e.new_value != 99 for e in log)


async def test_webhook_events_deduplicate(engine: AsyncEngine) -> None:
    """The same event id (or the same delivery id) is recorded once."""
    event = WebhookEvent(
        "e1", "w1", "orders/create", "demo.myshopify.com", NOW, NOW, NOW, "processed"
    )
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        first = await uow.webhooks.record(event)
        second = await uow.webhooks.record(event)
        seen_by_delivery = await uow.webhooks.seen("other", "w1")
        await uow.commit()

    assert (first, second, seen_by_delivery) == (True, False, True)


async def test_outbound_write_round_trips_exactly(engine: AsyncEngine) -> None:
    """A stored write decodes to the identical request, so a resend is byte-identical."""
    entries = (
        QuantityWrite(InventoryItemId(2**62 + 5), 14, 9),
        QuantityWrite(InventoryItemId(7), -1, 0),
    )
    write = SetQuantities("key-1", "gid://shopify-sync/SyncBatch/key-1", entries)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.writes.add(write, NOW)
        await uow.commit()
    async with factory() as uow:
        stored, keys = await uow.writes.get("key-1"), await uow.writes.keys()
        await uow.writes.remove("key-1")
        gone = await uow.writes.get("key-1")
        await uow.commit()

    assert (stored, keys, gone) == (write, ["key-1"], None)


async def test_lease_has_one_holder_until_it_expires(engine: AsyncEngine) -> None:
    """Only one process holds the reconcile lease; another takes it once it expired."""
    factory = SqlUnitOfWorkFactory(engine)
    ttl = timedelta(seconds=60)
    async with factory() as uow:
        a = await uow.leases.acquire("reconcile", "a", ttl, NOW)
        b = await uow.leases.acquire("reconcile", "b", ttl, NOW)
        b_later = await uow.leases.acquire("reconcile", "b", ttl, NOW + timedelta(seconds=61))
        await uow.commit()

    assert (a, b, b_later) == (True, False, True)


async def test_log_and_runs_record_what_columns_do_not(engine: AsyncEngine) -> None:
    """Outbound pushes and sync runs are recorded explicitly and read back."""
    factory = SqlUnitOfWorkFactory(engine)
    pid = ProductId("p-log")
    run = SyncRun("reconcile", NOW, NOW + timedelta(seconds=2), 10, 2, 0)
    async with factory() as uow:
        await uow.log.add([LogRecord(pid, "outbound", "api:sync", "b2c_stock", 9, 14, 5, "k")], NOW)
        await uow.runs.add(run)
        await uow.commit()
    async with factory() as uow:
        log = await uow.log.recent(product_id=pid)
        last = await uow.runs.last("reconcile")

    assert [(e.direction, e.old_value, e.new_value, e.delta) for e in log] == [
        ("outbound", 9, 14, 5)
    ]
    assert last == run


async def test_unreachable_database_is_a_storage_error(tmp_path: object) -> None:
    """A database that cannot be opened raises StorageError, not a driver exception."""
    engine = create_engine(UNREACHABLE)
    try:
        with pytest.raises(StorageError, match="cannot open the database"):
            async with SqlUnitOfWorkFactory(engine)():
                pass
    finally:
        await engine.dispose()


async def test_sqlite_units_of_work_take_turns(tmp_path: Path) -> None:
    """On SQLite a second unit of work starts only when the first has finished."""
    order: list[str] = []
    async with migrated_engine(f"sqlite+aiosqlite:///{tmp_path}/turns.db") as engine:
        factory = SqlUnitOfWorkFactory(engine)

        async def second() -> None:
            async with factory():
                order.append("second entered")

        async with factory():
            task = asyncio.create_task(second())
            await asyncio.sleep(0)
            order.append("first leaving")
        await task

    assert order == ["first leaving", "second entered"]


async def test_states_put_each_product_in_one_state(engine: AsyncEngine) -> None:
    """states(): one product per state, the first failure of the erroring ones as the
    oldest error (a later failure keeps it), and the last reconcile that ended well."""
    await _insert(engine, b2c=10, base=10)
    await _insert(engine, b2c=12, base=10)
    erroring, _ = await _insert(engine, b2c=12, base=10)
    parked, _ = await _insert(engine, b2c=12, base=10)
    disabled, _ = await _insert(engine, b2c=12, base=10)
    unlinked, _ = await _insert(engine, b2c=12, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.record_failures(
            [SyncFailure(ProductId(erroring), "down", NOW + timedelta(minutes=1))], NOW
        )
        await uow.products.record_failures(
            [SyncFailure(ProductId(erroring), "down", NOW + timedelta(minutes=9))],
            NOW + timedelta(minutes=5),
        )
        await uow.products.record_failures(
            [SyncFailure(ProductId(parked), "refused", None)], NOW + timedelta(minutes=2)
        )
        await uow.products.set_enabled(disabled, False, NOW)
        await uow.products.set_links([Link(ProductId(unlinked), None, None)], NOW)
        await uow.runs.add(SyncRun("reconcile", NOW, NOW + timedelta(seconds=3), 6, 0, 0))
        await uow.runs.add(SyncRun("reconcile", NOW, NOW + timedelta(seconds=9), 6, 0, 1, "x"))
        await uow.runs.add(SyncRun("reconcile:api", NOW, NOW + timedelta(seconds=5), 6, 0, 0))
        await uow.commit()
    async with factory() as uow:
        states = await uow.products.states()

    assert states.counts == {
        "in_sync": 1, "pending": 1, "error": 1, "parked": 1, "disabled": 1, "unlinked": 1,
    }  # fmt: skip
    assert states.oldest_error_since == NOW
    assert states.last_reconcile_ok_at == NOW + timedelta(seconds=5)


async def test_a_success_clears_when_the_error_began(engine: AsyncEngine) -> None:
    """After an operator's retry clears a failure, the next failure starts a new error."""
    pid, _ = await _insert(engine, b2c=12, base=10)
    factory = SqlUnitOfWorkFactory(engine)
    async with factory() as uow:
        await uow.products.record_failures([SyncFailure(ProductId(pid), "x", None)], NOW)
        await uow.products.clear_failure([pid], NOW + timedelta(minutes=1))
        later = NOW + timedelta(minutes=3)
        await uow.products.record_failures([SyncFailure(ProductId(pid), "y", None)], later)
        await uow.commit()
    async with factory() as uow:
        states = await uow.products.states()

    assert states.oldest_error_since == later
