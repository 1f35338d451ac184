"""The dashboard's history: counted per interval, flushed, pruned, and read as series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.services.history import (
    ROLL_AHEAD_S,
    HistoryRecorder,
    flush_history,
    interval_start,
    read_history,
    seconds_to_interval_end,
)
from tests.factories import UNREACHABLE
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio
KEEP = timedelta(days=14)


async def test_figures_of_several_flushes_add_up_per_step(world: World) -> None:
    """Two processes' flushes into the same interval add up; a 15-minute step sums its
    three 5-minute intervals; lag and latency averages come from sums and counts."""
    first, second = HistoryRecorder(world.clock), HistoryRecorder(world.clock)
    first.pushed(2, 1.0)
    second.pushed(3, 3.0)
    world.clock.advance(300)
    first.webhook("inventory_levels/update", "applied", 0.5)
    first.webhook("inventory_levels/update", "malformed")
    for recorder in (first, second):
        await flush_history(recorder, world.uow, world.clock, KEEP)

    history = await read_history(world.uow, world.clock, "24h")

    [point] = [p for p in history.points if p.values]
    assert (len(history.points), history.step) == (96, timedelta(minutes=15))
    assert {k: point.values[k] for k in ("pushed", "push_latency_avg", "push_latency_max",
            "webhooks", "webhooks_refused", "webhook_lag_avg")} == {
        "pushed": 5.0, "push_latency_avg": 2.0, "push_latency_max": 3.0, "webhooks": 1.0,
        "webhooks_refused": 1.0, "webhook_lag_avg": 0.5,
    }  # fmt: skip


async def test_a_reconcile_records_its_drift(world: World) -> None:
    """A reconcile adds its pushed and pulled products as drift, and the largest one."""
    recorder = HistoryRecorder(world.clock)
    recorder.reconciled(ok=True, duration_s=1, checked=9, pushed=2, pulled=3, failed=0)
    recorder.reconciled(ok=True, duration_s=1, checked=9, pushed=0, pulled=1, failed=0)
    await flush_history(recorder, world.uow, world.clock, KEEP)

    history = await read_history(world.uow, world.clock, "7d")

    [point] = [p for p in history.points if p.values]
    assert (point.values["drift"], point.values["drift_max"], point.values["reconciles"]) == (
        6.0, 5.0, 2.0,
    )  # fmt: skip


async def test_intervals_past_the_retention_are_pruned(world: World) -> None:
    """A flush forgets intervals older than the retention period."""
    recorder = HistoryRecorder(world.clock)
    recorder.sync_failed(4)
    await flush_history(recorder, world.uow, world.clock, KEEP)
    world.clock.advance(timedelta(days=15).total_seconds())
    recorder.sync_failed(1)
    await flush_history(recorder, world.uow, world.clock, KEEP)

    async with world.uow() as unit:
        rows = await unit.history.since(world.clock.now() - timedelta(days=30))

    assert [(at, name, value) for at, name, value in rows] == [
        (interval_start(world.clock.now()), "sync_failures", 1.0)
    ]


async def test_a_failed_flush_keeps_the_figures_for_the_next(world: World) -> None:
    """With the database down a flush stores nothing, raises nothing, and keeps its figures."""
    recorder = HistoryRecorder(world.clock)
    recorder.pulled(7, "sync")
    broken = create_engine(UNREACHABLE)
    try:
        await flush_history(recorder, SqlUnitOfWorkFactory(broken), world.clock, KEEP)
    finally:
        await broken.dispose()
    await flush_history(recorder, world.uow, world.clock, KEEP)

    history = await read_history(world.uow, world.clock, "24h")

    assert sum(p.values.get("pulled", 0) for p in history.points) == 7.0


async def test_webhook_figures_go_under_the_interval_of_the_flush_that_rolls_them(
    world: World,
) -> None:
    """Deliveries and pulls are counted without the clock: a flush just before an interval
    ends files them under it, and those counted after it under the next interval."""
    recorder = HistoryRecorder(world.clock)
    start = interval_start(world.clock.now())
    world.clock.advance(seconds_to_interval_end(world.clock.now()))
    recorder.webhook("inventory_levels/update", "applied", 2.0)
    recorder.pulled(1, "webhook")
    await flush_history(recorder, world.uow, world.clock, KEEP)
    world.clock.advance(1)
    recorder.webhook("inventory_levels/update", "bad_signature")
    recorder.webhook("inventory_levels/update", "applied", 4.0)
    await flush_history(recorder, world.uow, world.clock, KEEP)

    async with world.uow() as unit:
        rows = await unit.history.since(start)

    after = start + timedelta(minutes=5)
    assert sorted((at, name, value) for at, name, value in rows) == sorted([
        (start, "webhooks", 1.0), (start, "pulled", 1.0), (start, "webhook_lag_sum", 2.0),
        (start, "webhook_lag_count", 1.0), (start, "webhook_lag_max", 2.0),
        (after, "webhooks", 1.0), (after, "webhooks_refused", 1.0),
        (after, "webhook_lag_sum", 4.0), (after, "webhook_lag_count", 1.0),
        (after, "webhook_lag_max", 4.0),
    ])  # fmt: skip


def test_the_last_flush_of_an_interval_is_due_just_before_it_ends() -> None:
    """Mid-interval: just before its end; already that close to its end: the next one's."""
    at = datetime(2026, 5, 1, 10, 2, 0, tzinfo=UTC)

    assert seconds_to_interval_end(at) == 180 - ROLL_AHEAD_S
    assert seconds_to_interval_end(at + timedelta(seconds=180 - ROLL_AHEAD_S)) == 300
