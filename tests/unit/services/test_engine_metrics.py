"""What the engine and the reconcile report to the ``Metrics`` port."""

from __future__ import annotations

import pytest

from shopify_sync.domain.commands import ReconcileAll
from shopify_sync.domain.model import QuantityWrite, SetQuantities
from shopify_sync.services import handlers
from shopify_sync.services.engine import SyncEngine, SyncPolicy, SyncReport
from shopify_sync.types import InventoryItemId
from tests.factories import push_start
from tests.fakes import FakeMetrics, unavailable
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio


@pytest.fixture(name="metrics")
def _metrics(world: World) -> FakeMetrics:
    metrics = FakeMetrics()
    world.engine = SyncEngine(
        world.uow, world.store, world.clock, SyncPolicy(max_attempts=3), metrics=metrics
    )
    return metrics


async def test_a_push_reports_its_changes_and_latency(world: World, metrics: FakeMetrics) -> None:
    """Two changes of ours written in one call: one ``pushed`` of 2, timed from the sync
    picking them up to Shopify's answer."""
    a, _ = await world.product(ours=7, base=5, shopify=5)
    b, _ = await world.product(ours=3, base=5, shopify=5)
    world.store.before_write.append(lambda: world.clock.advance(1.5))
    async with world.uow() as unit:
        products = await unit.products.get_many([a, b])

    await world.engine.sync(products, source="test")

    assert metrics.named("pushed") == [(2, 1.5)]


async def test_a_reconcile_reports_what_it_found(world: World, metrics: FakeMetrics) -> None:
    """A reconcile with one change of ours, one of Shopify's and one in sync reports
    checked 3, pushed 1, pulled 1, failed 0, and the pulled change as via sync."""
    await world.product(ours=7, base=5, shopify=5)
    await world.product(ours=5, base=5, shopify=2)
    await world.product(ours=5, base=5, shopify=5)

    await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    assert metrics.named("reconciled") == [(True, 3, 1, 1, 0)]
    assert metrics.named("pulled") == [(1, "sync")]


async def test_a_failed_reconcile_is_reported_failed(world: World, metrics: FakeMetrics) -> None:
    """A reconcile that raises is reported with ok False."""
    await world.product(ours=7, base=5, shopify=5)
    world.store.fail_next = [RuntimeError("boom")]  # type: ignore[list-item]

    with pytest.raises(RuntimeError):
        await handlers.reconcile_all(ReconcileAll(), world.uow, world.engine, world.clock)

    assert metrics.named("reconciled") == [(False, 0, 0, 0, 0)]


async def test_failed_products_are_counted(world: World, metrics: FakeMetrics) -> None:
    """A read that fails for two products reports two failed sync attempts."""
    a, _ = await world.product(ours=7, base=5, shopify=5)
    b, _ = await world.product(ours=3, base=5, shopify=5)
    world.store.fail_next = [unavailable()]
    async with world.uow() as unit:
        products = await unit.products.get_many([a, b])

    await world.engine.sync(products, source="test")

    assert metrics.named("sync_failed") == [(2,)]


async def test_a_resent_write_counts_without_a_latency(world: World, metrics: FakeMetrics) -> None:
    """A write left in flight by an earlier process, resent and acknowledged, counts its
    change but no latency (when its change was picked up is not known)."""
    pid, item = await world.product(ours=7, base=5, shopify=5)
    now = world.clock.now()
    async with world.uow() as unit:
        await unit.products.begin_pushes("k1", [push_start(pid, 5, 7, 5, 7)], now)
        await unit.writes.add(
            SetQuantities("k1", "gid://x/k1", (QuantityWrite(InventoryItemId(item), 7, 5),)), now
        )
        await unit.commit()

    await world.engine.resend_in_flight(None, SyncReport(), "resend")

    assert metrics.named("pushed") == [(1, None)]
