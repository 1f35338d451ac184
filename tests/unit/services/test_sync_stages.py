"""The sync stages through their ports, on an in-memory unit of work and a fake Shopify."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.model import Product
from shopify_sync.errors import StoreRejected
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.sync.report import SyncPolicy, SyncReport
from shopify_sync.types import InventoryItemId, ProductId
from tests.factories import random_item_id, random_product_id
from tests.fakes import FakeClock, FakeMetrics, FakeStoreClient, unavailable
from tests.memory_db import MemoryUnitOfWorkFactory

pytestmark = pytest.mark.anyio


@dataclass
class Stages:
    """An engine over the in-memory database and a fake Shopify."""

    uow: MemoryUnitOfWorkFactory
    store: FakeStoreClient
    clock: FakeClock
    engine: SyncEngine

    def product(
        self,
        *,
        ours: int,
        base: int | None,
        shopify: int | None,
        tracked: bool = True,
        variant: str | None = "1",
        link_item: bool = True,
        enabled: bool = True,
        b2b: int = 100,
        allocation: Allocation | None = None,
        pool_base: int | None = None,
    ) -> tuple[ProductId, InventoryItemId]:
        """A product row and its Shopify item; with ``allocation``, its own policy, buffer
        and cap, and ``pool_base`` (default: the pool as it is, agreed)."""
        pid, item = ProductId(random_product_id()), InventoryItemId(random_item_id())
        if shopify is not None:
            self.store.add(item, shopify)
            self.store.items[item].tracked = tracked
        product = Product(
            pid, f"SKU-{pid}", None, b2b, ours, variant, item if link_item else None,
            enabled, None, 0, None, None, base, None,
        )  # fmt: skip
        if allocation is not None:
            product = replace(
                product,
                allocation_policy=allocation.policy,
                allocation_buffer=allocation.buffer,
                allocation_cap=allocation.cap,
                pool_base=allocation.pool(b2b, ours) if pool_base is None else pool_base,
            )
        self.uow.state.products[pid] = product
        return pid, item

    def logged(self, pid: ProductId, field: str) -> list[int]:
        """The logged deltas of one stock column of ``pid``, oldest first."""
        return [e.delta for e in self.uow.state.log if e.product_id == pid and e.field == field]

    def row(self, pid: ProductId) -> Product:
        """Our row as it is now."""
        return self.uow.state.products[pid]


@pytest.fixture(name="stages")
def _stages() -> Stages:
    clock = FakeClock()
    uow = MemoryUnitOfWorkFactory()
    store = FakeStoreClient(clock)
    keys = iter(f"key-{n}" for n in range(1, 1000))
    engine = SyncEngine(uow, store, clock, SyncPolicy(max_attempts=3), new_key=lambda: next(keys))
    return Stages(uow, store, clock, engine)


async def test_a_write_is_stored_before_it_is_sent(stages: Stages) -> None:
    """The write-ahead record and the row's push key are committed before Shopify is called."""
    pid, item = stages.product(ours=12, base=10, shopify=10)
    seen: list[tuple[list[str], str | None]] = []
    stages.store.before_write.append(
        lambda: seen.append((sorted(stages.uow.state.writes), stages.row(pid).push_key))
    )

    await stages.engine.sync([stages.row(pid)], source="test")

    assert seen == [(["key-1"], "key-1")]
    assert (stages.store.available(item), stages.uow.state.writes) == (12, {})


async def test_an_unanswered_write_is_kept_and_resent_with_its_key(stages: Stages) -> None:
    """A write that got no answer stays stored and in flight; the resend carries the same
    key and request, and Shopify's replayed answer settles the row once."""
    pid, item = stages.product(ours=12, base=10, shopify=10)
    stages.store.lose_next_response = 1

    first = await stages.engine.sync([stages.row(pid)], source="test")
    kept = dict(stages.uow.state.writes)
    await stages.engine.resend_in_flight(None, SyncReport(), "resend")

    assert first.results[pid].action == "failed"
    assert list(kept) == ["key-1"]
    assert [w.idempotency_key for w in stages.store.writes] == ["key-1", "key-1"]
    assert stages.store.writes[0] == stages.store.writes[1]
    assert (stages.row(pid).b2c_stock, stages.row(pid).shopify_base) == (12, 12)
    assert (stages.row(pid).push_key, stages.uow.state.writes) == (None, {})
    assert stages.store.available(item) == 12


async def test_a_rejected_request_is_dropped_and_retried_with_backoff(stages: Stages) -> None:
    """A 4xx is never resent as is: the stored write goes, the product retries later with a
    fresh merge (backoff), and is parked after the last attempt."""
    pid, _ = stages.product(ours=12, base=10, shopify=10)
    stages.store.fail_next = [StoreRejected("401 Unauthorized", status=401)]

    report = await stages.engine.sync([stages.row(pid)], source="test")
    row = stages.row(pid)

    assert report.results[pid].action == "failed"
    assert (stages.uow.state.writes, row.push_key, row.parked_at) == ({}, None, None)
    assert row.next_attempt_at == stages.clock.now() + timedelta(seconds=stages.engine.backoff_s(1))


async def test_a_permanent_refusal_parks_only_the_item_it_names(stages: Stages) -> None:
    """Shopify refuses a batch because one item was deleted after the read: that product
    is parked, the other is merged again and written."""
    bad, bad_item = stages.product(ours=3, base=1, shopify=1)
    good, good_item = stages.product(ours=7, base=5, shopify=5)

    def delete_bad_item() -> None:
        del stages.store.items[bad_item]

    stages.store.before_write.append(delete_bad_item)

    report = await stages.engine.sync([stages.row(bad), stages.row(good)], source="test")

    assert (report.results[bad].action, report.results[good].action) == ("failed", "pushed")
    assert stages.row(bad).parked_at is not None
    assert stages.row(good).parked_at is None
    assert stages.store.available(good_item) == 7
    assert len(stages.store.writes) == 2


async def test_disabled_and_unlinked_products_are_reported_not_synced(stages: Stages) -> None:
    """Selection leaves out disabled and unlinked products and says so."""
    off, _ = stages.product(ours=1, base=1, shopify=1, enabled=False)
    loose, _ = stages.product(ours=1, base=1, shopify=None, variant=None, link_item=False)

    report = await stages.engine.sync([stages.row(off), stages.row(loose)], source="test")

    assert {p: r.action for p, r in report.results.items()} == {
        off: "disabled",
        loose: "not_linked",
    }


async def test_a_malformed_variant_is_parked_with_what_to_do(stages: Stages) -> None:
    """Selection cannot resolve a malformed variant id: parked, with the fix named."""
    pid, _ = stages.product(ours=1, base=None, shopify=None, variant="abc", link_item=False)

    report = await stages.engine.sync([stages.row(pid)], source="test")

    assert report.results[pid].action == "failed"
    assert "fix the link" in (stages.row(pid).sync_error or "")
    assert stages.row(pid).parked_at is not None


async def test_another_tasks_write_is_awaited_then_resent(stages: Stages) -> None:
    """A write in flight from another task that never settles is resent by selection (same
    key), and the product is then merged."""
    pid, item = stages.product(ours=12, base=10, shopify=10)
    before = stages.row(pid)
    stages.store.lose_next_response = 1
    await stages.engine.sync([before], source="other task")

    report = await stages.engine.sync([before], source="test")  # as read before that write

    assert stages.clock.slept, "it waited for the other task first"
    assert [w.idempotency_key for w in stages.store.writes] == ["key-1", "key-1"]
    assert report.results[pid].action in ("in_sync", "pushed")
    assert (stages.store.available(item), stages.row(pid).shopify_base) == (12, 12)


async def test_the_dry_run_and_the_run_make_the_same_decision(stages: Stages) -> None:
    """An untracked item: the dry run shows the problem the run parks the product for,
    instead of proposing a write."""
    pid, _ = stages.product(ours=12, base=10, shopify=10, tracked=False)

    planned = await stages.engine.plan([stages.row(pid)])
    report = await stages.engine.sync([stages.row(pid)], source="test")

    [(_, _, decision)] = planned
    assert decision.kind == "fail"
    assert report.results[pid].error == decision.problem
    assert stages.store.writes == []


async def test_backoff_doubles_up_to_the_cap(stages: Stages) -> None:
    """The failure policy waits 5, 10, 20... seconds, never more than the cap."""
    engine = SyncEngine(
        stages.uow, stages.store, stages.clock, SyncPolicy(backoff_base_s=5, backoff_cap_s=30)
    )

    assert [engine.backoff_s(n) for n in range(1, 6)] == [5.0, 10.0, 20.0, 30.0, 30.0]


async def test_a_failed_variant_lookup_is_retried_with_backoff(stages: Stages) -> None:
    """Selection could not reach Shopify to resolve a variant: a passing failure, retried."""
    pid, _ = stages.product(ours=1, base=None, shopify=None, variant="123", link_item=False)
    stages.store.fail_next = [unavailable()]

    report = await stages.engine.sync([stages.row(pid)], source="test")

    assert report.results[pid].action == "failed"
    assert "could not resolve the variant" in (stages.row(pid).sync_error or "")
    assert (stages.row(pid).parked_at, stages.row(pid).next_attempt_at is not None) == (
        None,
        True,
    )


async def test_out_of_rounds_a_stale_product_is_left_to_the_scan(stages: Stages) -> None:
    """A write that goes stale in the last round asks for a re-read instead of looping."""
    engine = SyncEngine(stages.uow, stages.store, stages.clock, SyncPolicy(max_rounds=1))
    pid, item = stages.product(ours=12, base=10, shopify=10)
    stages.store.before_write.append(lambda: stages.store.sell(item, 1))

    await engine.sync([stages.row(pid)], source="test")

    assert stages.row(pid).refresh_requested
    assert stages.row(pid).pending
    assert stages.store.available(item) == 9


async def test_a_snapshot_reconcile_merges_in_chunks_and_rereads_moved_rows(
    stages: Stages,
) -> None:
    """Each chunk of the snapshot is merged without a read; a row that moved after the
    snapshot (a sale in between) is merged again with a fresh read, counted once."""
    a, item_a = stages.product(ours=5, base=5, shopify=3)
    b, item_b = stages.product(ours=7, base=5, shopify=5)
    stages.store.before_write.append(lambda: stages.store.sell(item_b, 1))

    totals = await stages.engine.reconcile_from_snapshot("reconcile", chunk=1)

    assert (stages.row(a).b2c_stock, stages.row(a).shopify_base) == (3, 3)
    assert (stages.row(b).b2c_stock, stages.row(b).shopify_base) == (6, 6)
    assert (stages.store.available(item_a), stages.store.available(item_b)) == (3, 6)
    assert (totals.checked, totals.changed, totals.failed) == (2, 2, 0)


# -- allocation policies -------------------------------------------------------------------


async def test_a_shopify_sale_of_a_shared_product_lowers_b2b_stock_once(stages: Stages) -> None:
    """Shared: Shopify sold 3 since the agreement; the sync takes it out of b2b_stock (one
    logged change), b2c_stock mirrors what Shopify shows, and nothing is written."""
    pid, item = stages.product(ours=15, base=15, shopify=15, b2b=20,
                               allocation=Allocation("shared", 5))  # fmt: skip
    stages.store.sell(item, 3)

    report = await stages.engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert (report.results[pid].action, stages.store.writes) == ("pulled", [])
    assert (row.b2b_stock, row.b2c_stock, row.shopify_base, row.pool_base) == (17, 12, 12, 17)
    assert (stages.logged(pid, "b2b_stock"), row.pending) == ([-3], False)


async def test_a_b2b_change_of_a_shared_pool_is_published_less_the_buffer(
    stages: Stages,
) -> None:
    """Shared: the B2B platform sold 6 of b2b_stock; Shopify is set to the pool less the
    buffer (14 - 5 = 9), and b2c_stock mirrors it once applied."""
    pid, item = stages.product(ours=15, base=15, shopify=15, b2b=14, pool_base=20,
                               allocation=Allocation("shared", 5))  # fmt: skip

    await stages.engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert (stages.store.available(item), row.b2b_stock, row.b2c_stock) == (9, 14, 9)
    assert (row.shopify_base, row.pool_base, row.pending) == (9, 14, False)


async def test_a_cap_is_restored_after_a_shopify_sale(stages: Stages) -> None:
    """Split with cap 50 and 60 units: Shopify sold 5 (shows 45); our pool drops to 55 and
    Shopify is set back to the cap."""
    pid, item = stages.product(ours=60, base=50, shopify=50, allocation=Allocation(cap=50))
    stages.store.sell(item, 5)

    await stages.engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert (stages.store.available(item), row.b2c_stock, row.shopify_base) == (50, 55, 50)
    assert (row.pool_base, row.pending) == (55, False)


async def test_an_oversold_pool_is_published_as_is(stages: Stages) -> None:
    """Shared pool 2 while Shopify sold 5: the pool goes to -3, Shopify keeps showing the
    oversell (no write hides it behind a 0)."""
    pid, item = stages.product(ours=2, base=2, shopify=2, b2b=2, allocation=Allocation("shared"))
    stages.store.sell(item, 5)

    await stages.engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert (stages.store.available(item), stages.store.writes) == (-3, [])
    assert (row.b2b_stock, row.b2c_stock, row.pending) == (-3, -3, False)


async def test_a_pool_move_the_cap_absorbs_settles_without_reading_shopify(
    stages: Stages,
) -> None:
    """Split with cap 50: our pool moved from 80 to 70, Shopify still shows 50; the product
    is settled on our side alone (no read, no write) and is no longer pending."""
    pid, _ = stages.product(ours=70, base=50, shopify=50, pool_base=80,
                            allocation=Allocation(cap=50))  # fmt: skip
    reads = stages.store.reads

    report = await stages.engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert (report.results[pid].action, stages.store.reads, stages.store.writes) == (
        "in_sync",
        reads,
        [],
    )
    assert (row.pool_base, row.pending, row.last_synced_at) == (70, False, stages.clock.now())


async def test_a_first_sync_writes_the_default_allocation_into_the_row(stages: Stages) -> None:
    """A product without its own policy syncs under the settings' default, which its row
    then keeps (later changes of the settings do not move it)."""
    uow, store, clock = stages.uow, stages.store, stages.clock
    engine = SyncEngine(uow, store, clock, SyncPolicy(default_allocation=Allocation("shared", 2)))
    pid, item = stages.product(ours=0, base=None, shopify=4, b2b=10)

    await engine.sync([stages.row(pid)], source="test")

    row = stages.row(pid)
    assert row.allocation(Allocation()) == Allocation("shared", 2)
    assert (store.available(item), row.b2b_stock, row.b2c_stock, row.pool_base) == (8, 10, 8, 10)
    assert row.pending is False


async def test_a_b2b_write_racing_a_push_is_never_lost(stages: Stages) -> None:
    """Shared: while our write of 9 is on its way, the B2B platform sells 2 more; the
    answer moves the pool relatively, the sale stays pending and is pushed next."""
    pid, item = stages.product(ours=15, base=15, shopify=15, b2b=14, pool_base=20,
                               allocation=Allocation("shared", 5))  # fmt: skip

    def b2b_sale() -> None:
        row = stages.row(pid)
        stages.uow.state.products[pid] = replace(row, b2b_stock=row.b2b_stock - 2)

    stages.store.before_write.append(b2b_sale)
    await stages.engine.sync([stages.row(pid)], source="test")
    raced = stages.row(pid)
    await stages.engine.sync([raced], source="test")

    row = stages.row(pid)
    assert (raced.b2b_stock, raced.pool_base, raced.pending) == (12, 14, True)
    assert (stages.store.available(item), row.b2b_stock, row.b2c_stock) == (7, 12, 7)
    assert row.pending is False


async def test_the_dry_run_proposes_what_the_run_writes_under_a_policy(stages: Stages) -> None:
    """Shared with buffer 5 and cap 8 after a B2B change: the dry run's decision is the
    write the run then makes (the capped, buffered pool), not the B2C column's value."""
    pid, item = stages.product(ours=8, base=8, shopify=8, b2b=11, pool_base=20,
                               allocation=Allocation("shared", 5, 8))  # fmt: skip

    ((_, _, planned),) = await stages.engine.plan([stages.row(pid)])
    await stages.engine.sync([stages.row(pid)], source="test")

    assert (planned.kind, planned.merge and planned.merge.write) == ("push", 6)
    assert stages.store.available(item) == 6


async def test_a_snapshot_reconcile_takes_a_shared_sale_into_b2b_stock(stages: Stages) -> None:
    """The bulk snapshot path decides like the others: a Shopify sale of a shared product
    missed by its webhook lowers b2b_stock once, and nothing is written back."""
    pid, item = stages.product(ours=15, base=15, shopify=15, b2b=20,
                               allocation=Allocation("shared", 5))  # fmt: skip
    stages.clock.advance(5)
    stages.store.sell(item, 4)

    totals = await stages.engine.reconcile_from_snapshot("reconcile")

    row = stages.row(pid)
    assert (totals.pulled, totals.api_writes, stages.logged(pid, "b2b_stock")) == (1, 0, [-4])
    assert (row.b2b_stock, row.b2c_stock, row.pending) == (16, 11, False)


async def test_a_write_answered_twice_counts_one_push() -> None:
    """Two passes sending the same stored write at once (the pending scan resending what a
    direct sync still waits on) count its push and latency once: the answer that finds its
    rows settled already acknowledges nothing new."""
    clock, uow, metrics = FakeClock(), MemoryUnitOfWorkFactory(), FakeMetrics()
    store = FakeStoreClient(clock)
    engine = SyncEngine(uow, store, clock, SyncPolicy(max_attempts=3), metrics=metrics)
    stages = Stages(uow, store, clock, engine)
    pid, _ = stages.product(ours=12, base=10, shopify=10)
    store.lose_next_response = 1
    await engine.sync([stages.row(pid)], source="test")
    (write,) = uow.state.writes.values()
    in_flight = [stages.row(pid)]

    await engine.writer.send(write, in_flight, SyncReport(started_at=clock.now()), "one")
    await engine.writer.send(write, in_flight, SyncReport(started_at=clock.now()), "other")

    assert [args[0] for args in metrics.named("pushed")] == [1]
    assert stages.row(pid).shopify_base == 12
