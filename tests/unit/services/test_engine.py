"""The sync engine through its ports: every case of shared/design/sync-semantics.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import (
    ApplyInventoryLevel,
    ReconcileAll,
    SyncProduct,
    WebhookMeta,
)
from shopify_sync.domain.model import (
    Product,
    QuantityWrite,
    SetQuantities,
    SyncFailure,
)
from shopify_sync.errors import ProductNotSyncable, StoreRejected, UnknownProduct
from shopify_sync.services import handlers
from shopify_sync.services.sync.report import ProductResult, SyncReport
from shopify_sync.types import InventoryItemId, LocationId, ProductId
from tests.factories import push_start
from tests.fakes import unavailable
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio

LOCATION = LocationId(1)


async def sync(world: World, pid: str) -> ProductResult:
    return await handlers.sync_product(SyncProduct(ProductId(pid)), world.uow, world.engine)


async def test_first_link_pushes_ours(world: World) -> None:
    """Case 1: no base yet, B2B is the source of truth: Shopify gets 10 (CAS 6)."""
    pid, item = await world.product(ours=10, base=None, shopify=6)

    result = await sync(world, pid)

    assert (result.action, world.store.available(item), await world.row(pid)) == (
        "pushed",
        10,
        (10, 10),
    )
    assert world.store.writes[0].entries[0].expected == 6


async def test_our_change_is_pushed(world: World) -> None:
    """Case 2: ours 15 over base 10: Shopify gets 15 with CAS 10."""
    pid, item = await world.product(ours=15, base=10, shopify=10)

    result = await sync(world, pid)

    assert (result.action, world.store.available(item), await world.row(pid)) == (
        "pushed",
        15,
        (15, 15),
    )


async def test_shopify_change_is_pulled_without_a_write(world: World) -> None:
    """Case 3: Shopify sold 2: our stock drops by 2 and nothing is written."""
    pid, _ = await world.product(ours=10, base=10, shopify=8)

    result = await sync(world, pid)

    assert (result.action, await world.row(pid), world.store.writes) == ("pulled", (8, 8), [])
    assert await world.b2c_ledger(pid) == 8


async def test_a_pull_overtaken_by_a_webhook_is_read_again_and_counted_once(
    world: World,
) -> None:
    """Shopify sold 2 (webhook missed); after our read, it sells 1 more and that webhook is
    applied before our pull lands. The pull's compare-and-set on the base refuses it, the
    level is read again, and each sale is counted once: 10 -> 7, not 5."""
    pid, item = await world.product(ours=10, base=10, shopify=10)
    world.store.sell(item, 2)
    read = world.store.read_levels

    async def read_then_webhook(items: Sequence[InventoryItemId]) -> dict[InventoryItemId, Any]:
        levels = await read(items)
        if len(world.store.events) == 1:
            world.store.sell(item, 1)
            event = world.store.events[-1]
            meta = WebhookMeta(event.event_id, None, "inventory_levels/update", None, None)
            await handlers.apply_inventory_level(
                ApplyInventoryLevel(
                    meta, InventoryItemId(item), LOCATION, event.available, event.updated_at
                ),
                world.levels,
                world.clock,
                LOCATION,
            )
        return levels

    world.store.read_levels = read_then_webhook  # type: ignore[method-assign]

    result = await sync(world, pid)

    assert (result.action, await world.row(pid), world.store.writes) == ("in_sync", (7, 7), [])
    assert world.store.reads == 2
    assert await world.b2c_ledger(pid) == 7


async def test_a_push_overtaken_by_a_b2b_change_is_merged_again(world: World) -> None:
    """We sold 5 of 15 (base 10) and the sync reads Shopify; while the read is slow (429s),
    the Inventory Service takes 5 more. The push of 15 computed from the old row is not
    started (compare-and-set on our stock as read): the round re-reads and Shopify gets 10,
    and never shows units we no longer have."""
    pid, item = await world.product(ours=15, base=10, shopify=10)
    read = world.store.read_levels

    async def read_then_b2b_sale(items: Sequence[InventoryItemId]) -> dict[InventoryItemId, Any]:
        levels = await read(items)
        if world.store.reads == 1:
            await world.set_b2c(pid, 10)
        return levels

    world.store.read_levels = read_then_b2b_sale  # type: ignore[method-assign]

    result = await sync(world, pid)

    shown = [entry.quantity for write in world.store.writes for entry in write.entries]
    assert (result.action, world.store.available(item), await world.row(pid)) == (
        "in_sync",
        10,
        (10, 10),
    )
    assert (shown, world.store.reads) == ([], 2)


async def test_concurrent_changes_merge(world: World) -> None:
    """Case 4: ours set to 15 while Shopify sold 1: both agree on 14."""
    pid, item = await world.product(ours=15, base=10, shopify=9)

    result = await sync(world, pid)

    assert (result.action, world.store.available(item), await world.row(pid)) == (
        "merged",
        14,
        (14, 14),
    )


async def test_stale_write_is_re_read_and_re_merged(world: World) -> None:
    """Case 5: a sale lands between our read and write: CAS fails, re-merge gives 13."""
    pid, item = await world.product(ours=15, base=10, shopify=9)
    world.store.before_write.append(lambda: world.store.sell(item, 1))

    await sync(world, pid)

    assert (world.store.available(item), await world.row(pid)) == (13, (13, 13))
    assert [w.entries[0].expected for w in world.store.writes] == [9, 8]
    assert await world.b2c_ledger(pid) == 13


async def test_in_sync_product_writes_nothing(world: World) -> None:
    """Both sides at the base: no write, only the sync time."""
    pid, _ = await world.product(ours=10, base=10, shopify=10)

    result = await sync(world, pid)

    assert (result.action, world.store.writes) == ("in_sync", [])


async def test_outage_records_error_and_backoff(world: World) -> None:
    """Case 11: Shopify down: sync_error, one more attempt, a next attempt time; nothing lost."""
    pid, _ = await world.product(ours=15, base=10, shopify=10)
    world.store.fail_next.append(unavailable())

    result = await sync(world, pid)

    async with world.uow() as unit:
        product = await unit.products.get(pid)
    assert result.action == "failed"
    assert product is not None
    assert product.sync_attempts == 1
    assert product.next_attempt_at == world.clock.now() + timedelta(seconds=5)
    assert product.sync_error is not None and "attempt 1 of 3" in product.sync_error
    assert (product.b2c_stock, product.shopify_base) == (15, 10)


async def test_retry_after_outage_clears_the_error(world: World) -> None:
    """A later attempt that succeeds clears sync_error, attempts and next_attempt_at."""
    pid, item = await world.product(ours=15, base=10, shopify=10)
    world.store.fail_next.append(unavailable())
    await sync(world, pid)
    world.clock.advance(10)

    report = await handlers.push_pending(world.uow, world.engine, world.clock)

    async with world.uow() as unit:
        product = await unit.products.get(pid)
    assert report.results[ProductId(pid)].action == "pushed"
    assert product is not None
    assert (product.sync_error, product.sync_attempts, product.next_attempt_at) == (None, 0, None)
    assert world.store.available(item) == 15


async def test_failed_product_without_a_pending_change_is_retried_when_due(world: World) -> None:
    """A product in error with nothing of ours to push (Shopify moved, the read failed) is
    retried by the pending scan once its next attempt is due, not left to the next reconcile."""
    pid, _ = await world.product(ours=10, base=10, shopify=12)
    world.store.fail_next.append(unavailable())
    await sync(world, pid)

    early = await handlers.push_pending(world.uow, world.engine, world.clock)
    world.clock.advance(10)
    report = await handlers.push_pending(world.uow, world.engine, world.clock)

    async with world.uow() as unit:
        product = await unit.products.get(pid)
    assert ProductId(pid) not in early.results
    assert report.results[ProductId(pid)].action == "pulled"
    assert product is not None
    assert (product.b2c_stock, product.sync_error, product.next_attempt_at) == (12, None, None)


async def test_parked_product_waits_for_an_operator(world: World) -> None:
    """A parked product is not picked up by the pending scan, however much time passes."""
    pid, _ = await world.product(ours=10, base=10, shopify=12)
    for _ in range(3):
        world.store.fail_next.append(unavailable())
        await sync(world, pid)
    world.clock.advance(3600)

    report = await handlers.push_pending(world.uow, world.engine, world.clock)

    assert ProductId(pid) not in report.results


async def test_product_is_parked_after_max_attempts(world: World) -> None:
    """After the configured number of failures the product waits for an operator."""
    pid, _ = await world.product(ours=15, base=10, shopify=10)
    for _ in range(3):
        world.store.fail_next.append(unavailable())
        await sync(world, pid)
        world.clock.advance(3600)

    async with world.uow() as unit:
        product = await unit.products.get(pid)
        due = await unit.products.due(world.clock.now())
    assert product is not None
    assert product.parked_at is not None and "parked" in (product.sync_error or "")
    assert pid not in {p.product_id for p in due}


async def test_a_failed_batch_records_each_product_and_logs_one_line(world: World) -> None:
    """An outage during a sync of 25 products: each records its own attempt and next try
    (one at its last attempt is parked), in one statement, and one log line names the batch."""
    pids = [(await world.product(ours=15, base=10, shopify=10))[0] for _ in range(25)]
    for _ in range(2):
        world.store.fail_next.append(unavailable())
        await sync(world, pids[0])
    world.store.fail_next.append(unavailable())
    async with world.uow() as unit:
        products = await unit.products.get_many(pids)

    with capture_logs() as logs:
        report = await world.engine.sync(products, source="test")

    async with world.uow() as unit:
        rows: dict[str, Product] = {p.product_id: p for p in await unit.products.get_many(pids)}
    assert {r.action for r in report.results.values()} == {"failed"}
    assert rows[pids[0]].parked_at is not None and "parked" in (rows[pids[0]].sync_error or "")
    others = [rows[pid] for pid in pids[1:]]
    assert {(p.sync_attempts, p.next_attempt_at, p.parked_at) for p in others} == {
        (1, world.clock.now() + timedelta(seconds=5), None)
    }
    assert all("attempt 1 of 3" in (p.sync_error or "") for p in others)
    [line] = [e for e in logs if e["event"] == "sync failed"]
    assert (line["products"], line["parked"], line["attempts"]) == (25, 1, [1, 3])
    assert line["product_ids"] == sorted(pids)[:20]
    assert line["next_attempt_at"] == (world.clock.now() + timedelta(seconds=5)).isoformat()


async def test_lost_response_is_resent_with_the_same_key(world: World) -> None:
    """Case 12: our write lands but the answer is lost; the resend replays, nothing doubles."""
    pid, item = await world.product(ours=15, base=10, shopify=9)
    world.store.lose_next_response = 1

    first = await sync(world, pid)
    world.clock.advance(10)
    await handlers.push_pending(world.uow, world.engine, world.clock)

    assert first.action == "failed"
    assert world.store.writes[0] == world.store.writes[1]
    assert (world.store.available(item), await world.row(pid)) == (14, (14, 14))
    assert await world.b2c_ledger(pid) == 14


async def test_rejected_write_is_recorded(world: World) -> None:
    """A request Shopify refuses outright records the error and keeps the row pending."""
    pid, _ = await world.product(ours=15, base=10, shopify=10)

    async def refuse(*_: object) -> None:
        raise StoreRejected("401 Unauthorized", status=401)

    world.store.set_quantities = refuse  # type: ignore[method-assign,assignment]  # a failure only

    result = await sync(world, pid)

    assert result.action == "failed"
    assert result.error is not None and "refused" in result.error
    assert await world.row(pid) == (15, 10)


async def test_unknown_item_is_parked_with_a_reason(world: World) -> None:
    """A linked item Shopify does not know is a permanent error for that product only."""
    pid, item = await world.product(ours=5, base=None, shopify=None)

    result = await sync(world, pid)

    assert result.action == "failed"
    assert result.error is not None and f"no inventory item {item}" in result.error


async def test_unknown_and_unsyncable_products_raise(world: World) -> None:
    """Unknown ids, unlinked and disabled products are refused before any API call."""
    disabled, _ = await world.product(ours=1, base=None, shopify=1, enabled=False)

    with pytest.raises(UnknownProduct):
        await sync(world, "nope")
    with pytest.raises(ProductNotSyncable, match="disabled"):
        await sync(world, disabled)


async def test_variant_only_link_is_resolved(world: World) -> None:
    """A row that names only the variant gets its inventory item resolved and stored."""
    pid, item = await world.product(
        ours=7, base=None, shopify=3, variant=44_000_000_001, link_item=False
    )

    result = await sync(world, pid)

    async with world.uow() as unit:
        product = await unit.products.get(pid)
    assert result.action == "pushed"
    assert product is not None and product.inventory_item_id == item
    assert world.store.available(item) == 7


async def test_reconcile_all_batches_and_summarises(world: World) -> None:
    """A full reconcile merges every linked product, writing only those that differ."""
    a, _ = await world.product(ours=5, base=5, shopify=5)
    b, _ = await world.product(ours=6, base=5, shopify=5)
    c, _ = await world.product(ours=5, base=5, shopify=4)
    await world.product(ours=9, base=None, shopify=1, enabled=False)

    summary = await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    assert (summary.checked, summary.changed, summary.failed) == (3, 2, 0)
    assert len(world.store.writes) == 1 and len(world.store.writes[0].entries) == 1
    assert (await world.row(b), await world.row(c), await world.row(a)) == ((6, 6), (4, 4), (5, 5))


async def test_dry_run_writes_nothing(world: World) -> None:
    """The reconcile plan lists what differs and leaves both sides untouched."""
    pid, item = await world.product(ours=6, base=5, shopify=4)
    await world.product(ours=5, base=5, shopify=5)

    plan = await handlers.plan_reconcile(world.uow, world.engine)

    assert [(p.product_id, p.ours, p.shopify, p.merged, p.write) for p in plan] == [
        (pid, 6, 4, 5, 5)
    ]
    assert (world.store.writes, await world.row(pid), world.store.available(item)) == (
        [],
        (6, 5),
        4,
    )


async def test_dry_run_shows_the_policys_part_of_each_difference(world: World) -> None:
    """Under a shared pool with a buffer, the plan's ours is the pool, its change is
    Shopify's sale, and why says how the pool after the merge makes what Shopify shows."""
    shared = Allocation("shared", 5, 50)
    # Agreed at 30 (pool 35 minus 5); the B2B platform then sold 10, Shopify 2.
    pid, _ = await world.product(ours=30, base=30, shopify=28, b2b=25, allocation=shared)
    async with world.uow.engine.begin() as c:
        await c.execute(text("UPDATE product_inventory SET pool_base = 35"))

    plan = await handlers.plan_reconcile(world.uow, world.engine)

    assert [(p.product_id, p.ours, p.shopify, p.base, p.merged, p.write, p.our_change, p.why)
            for p in plan] == [
        (pid, 25, 28, 30, 18, 18, -2,
         "Shopify shows 18: pool 23 (b2b_stock, shared) minus buffer 5 = 18; cap 50 not reached"),
    ]  # fmt: skip


async def test_large_batches_split_at_250(world: World) -> None:
    """Writes carry at most 250 entries; 260 changed products need two writes."""
    for _ in range(260):
        await world.product(ours=2, base=1, shopify=1)

    summary = await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    assert summary.changed == 260
    assert sorted(len(w.entries) for w in world.store.writes) == [10, 250]


async def test_scheduled_reconcile_holds_a_lease(world: World) -> None:
    """A second process does not reconcile while the first holds the lease."""
    ttl = timedelta(minutes=5)
    async with world.uow() as unit:
        await unit.leases.acquire(handlers.RECONCILE_LEASE, "other", ttl, world.clock.now())
        await unit.commit()

    skipped = await handlers.scheduled_reconcile("me", ttl, world.uow, world.engine, world.clock)
    world.clock.advance(301)
    ran = await handlers.scheduled_reconcile("me", ttl, world.uow, world.engine, world.clock)

    assert skipped is None and ran is not None


async def test_health_reports_counts_and_last_run(world: World) -> None:
    """Health shows the database up, product counts and the last reconcile."""
    await world.product(ours=2, base=None, shopify=1)
    await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    state = await handlers.health(world.uow)

    assert state.database_ok and state.products["total"] == 1
    assert state.last_reconcile is not None and state.last_reconcile.changed == 1


async def test_bulk_snapshot_reconcile_matches_paged(world: World) -> None:
    """From the bulk threshold on, one snapshot drives the reconcile, with the same outcome."""
    pushed, pushed_item = await world.product(ours=6, base=5, shopify=5)
    pulled, _ = await world.product(ours=5, base=5, shopify=3)
    same, _ = await world.product(ours=5, base=5, shopify=5)
    missing, _ = await world.product(ours=5, base=5, shopify=None)
    reads_before = world.store.reads

    summary = await handlers.reconcile_all(
        ReconcileAll(), world.uow, world.engine, world.clock, bulk_threshold=1
    )

    assert (summary.checked, summary.changed, summary.failed) == (4, 2, 1)
    assert (await world.row(pushed), await world.row(pulled), await world.row(same)) == (
        (6, 6),
        (3, 3),
        (5, 5),
    )
    assert world.store.available(pushed_item) == 6
    assert world.store.reads - reads_before == 1  # only the item the snapshot did not cover
    async with world.uow() as unit:
        gone = await unit.products.get(missing)
    assert gone is not None and "no inventory item" in (gone.sync_error or "")


async def test_snapshot_older_than_a_webhook_is_re_read(world: World) -> None:
    """A snapshot level older than the newest applied change is re-read, not merged."""
    pid, item = await world.product(ours=5, base=5, shopify=5)
    snapshot = [lvl async for lvl in world.store.snapshot_levels()]
    world.clock.advance(2)
    world.store.sell(item, 2)
    await world.engine.sync(
        await handlers.products_for(world.uow, [ProductId(pid)]), source="webhook"
    )

    levels = {lvl.inventory_item_id: lvl for lvl in snapshot}
    async with world.uow() as unit:
        product = await unit.products.get(pid)
    assert product is not None
    report = SyncReport()
    again = await world.engine._round([product], report, "reconcile", final=False,
                                      levels=levels, read_at=world.clock.now())  # fmt: skip

    assert (again, await world.row(pid)) == ([pid], (3, 3))


async def test_parked_products_are_left_to_the_operator(world: World) -> None:
    """A parked product is not retried by the scheduled reconcile."""
    pid, _ = await world.product(ours=9, base=5, shopify=5)
    async with world.uow() as unit:
        await unit.products.record_failures(
            [SyncFailure(ProductId(pid), "x", None)], world.clock.now()
        )
        await unit.commit()

    summary = await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    assert summary.checked == 0 and world.store.writes == []


async def test_write_started_elsewhere_is_awaited_then_resent(world: World) -> None:
    """A sync that finds another task's write in flight waits, then resends it (same key)."""
    pid, item = await world.product(ours=15, base=10, shopify=10)
    stale = (await handlers.products_for(world.uow, [ProductId(pid)]))[0]
    write = SetQuantities(
        "k-elsewhere", "gid://x/1", (QuantityWrite(InventoryItemId(item), 15, 10),)
    )
    async with world.uow() as unit:
        await unit.products.begin_pushes(
            write.idempotency_key, [push_start(pid, 10, 15, 10, 15)], world.clock.now()
        )
        await unit.writes.add(write, world.clock.now())
        await unit.commit()
    started = world.clock.now()

    report = await world.engine.sync([stale], source="api:sync")

    assert report.results[ProductId(pid)].action in ("pushed", "in_sync")
    assert [w.idempotency_key for w in world.store.writes] == ["k-elsewhere"]
    assert (world.store.available(item), await world.row(pid)) == (15, (15, 15))
    assert (world.clock.now() - started).total_seconds() >= 2.9


async def test_a_level_dated_ahead_of_our_clock_is_not_recorded_as_seen(world: World) -> None:
    """A level Shopify dates an hour ahead of our clock is merged (pulled), but its
    timestamp never becomes shopify_seen_at, in a pull or when both sides agree."""
    pulled, item_a = await world.product(ours=10, base=10, shopify=8)
    agreed, item_b = await world.product(ours=5, base=5, shopify=5)
    for item in (item_a, item_b):
        world.store.items[InventoryItemId(item)].updated_at = world.clock.now() + timedelta(hours=1)

    results = [await sync(world, pid) for pid in (pulled, agreed)]

    async with world.uow() as unit:
        seen = [(await unit.products.get(pid)).shopify_seen_at for pid in (pulled, agreed)]  # type: ignore[union-attr]

    assert [r.action for r in results] == ["pulled", "in_sync"]
    assert (await world.row(pulled), seen) == ((8, 8), [None, None])


async def test_the_scheduled_reconcile_runs_once_per_interval_across_processes(
    world: World,
) -> None:
    """Right after one process's scheduled reconcile another process's loop finds it fresh
    and skips; once the interval has passed it runs; a forced one (no freshness) always runs."""
    ttl, fresh = timedelta(minutes=5), timedelta(seconds=270)

    first = await handlers.scheduled_reconcile(
        "a", ttl, world.uow, world.engine, world.clock, fresh_for=fresh
    )
    world.clock.advance(60)
    fresh_skip = await handlers.scheduled_reconcile(
        "b", ttl, world.uow, world.engine, world.clock, fresh_for=fresh
    )
    forced = await handlers.scheduled_reconcile("b", ttl, world.uow, world.engine, world.clock)
    world.clock.advance(271)
    due = await handlers.scheduled_reconcile(
        "b", ttl, world.uow, world.engine, world.clock, fresh_for=fresh
    )

    assert first is not None and fresh_skip is None
    assert forced is not None and due is not None


async def test_the_dry_run_shows_the_policys_part(world: World) -> None:
    """Shared with buffer 5: the plan lists the pool (b2b_stock) as ours and how the merged
    pool is published, the same computation the run then writes."""
    pid, _ = await world.product(ours=15, base=15, shopify=13, b2b=20,
                                 allocation=Allocation("shared", 5))  # fmt: skip
    await world.set_b2b(pid, 24)

    (planned,) = await handlers.plan_reconcile(world.uow, world.engine)

    assert (planned.ours, planned.our_change, planned.merged, planned.write) == (24, -2, 17, 17)
    assert planned.why == "Shopify shows 17: pool 22 (b2b_stock, shared) minus buffer 5 = 17"
