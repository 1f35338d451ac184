"""Group commit of webhook deliveries: batching, parallelism, failure isolation, shutdown."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence

import pytest
import structlog

from shopify_sync.domain.commands import ApplyInventoryLevel, WebhookMeta
from shopify_sync.domain.inbound import LevelPlan, LevelView
from shopify_sync.errors import StorageError
from shopify_sync.services.ingest import SUMMARY_INTERVAL, LevelIngest
from shopify_sync.types import InventoryItemId, LocationId
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio
LOCATION = LocationId(1)


class RecordingLevelStore:
    """Plans every batch against an empty view (nothing linked) and records it."""

    def __init__(self, parallel_batches: int = 1) -> None:
        self.parallel_batches = parallel_batches
        self.batches: list[list[str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.gate: asyncio.Event | None = None
        self.poison: set[str] = set()

    async def apply_levels(
        self, cmds: Sequence[ApplyInventoryLevel], plan: Callable[[LevelView], LevelPlan]
    ) -> LevelPlan:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            events = [c.meta.event_id for c in cmds]
            if self.poison & set(events):
                raise StorageError(f"value out of range in {sorted(self.poison & set(events))}")
            self.batches.append(events)
            return plan(LevelView(frozenset(), {}))
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None


def level(event: str) -> ApplyInventoryLevel:
    meta = WebhookMeta(event, f"w-{event}", "inventory_levels/update", None, None)
    return ApplyInventoryLevel(meta, InventoryItemId(7), LOCATION, 3, None)


def ingest(store: RecordingLevelStore, *, max_batch: int = 250) -> LevelIngest:
    return LevelIngest(store, FakeClock(), LOCATION, max_batch=max_batch)


async def test_a_lone_delivery_is_written_at_once() -> None:
    """One delivery, one batch of one, and its own outcome."""
    store = RecordingLevelStore()

    outcome = await ingest(store).apply(level("e1"))

    assert store.batches == [["e1"]]
    assert (outcome.status, outcome.detail) == (
        "ignored",
        "no product is linked to inventory item 7",
    )


async def test_concurrent_deliveries_share_one_transaction() -> None:
    """Ten requests arriving together are one batch, in arrival order."""
    store = RecordingLevelStore()
    subject = ingest(store)

    outcomes = await asyncio.gather(*(subject.apply(level(f"e{i}")) for i in range(10)))

    assert store.batches == [[f"e{i}" for i in range(10)]]
    assert [o.status for o in outcomes] == ["ignored"] * 10


async def test_deliveries_arriving_during_a_batch_form_the_next_one() -> None:
    """While a batch is at the database the next deliveries gather into one more batch."""
    store = RecordingLevelStore()
    store.gate = asyncio.Event()
    subject = ingest(store)
    first = asyncio.create_task(subject.apply(level("a")))
    await asyncio.sleep(0.01)
    rest = [asyncio.create_task(subject.apply(level(f"b{i}"))) for i in range(5)]
    await asyncio.sleep(0.01)
    store.gate.set()

    await asyncio.gather(first, *rest)

    assert store.batches == [["a"], [f"b{i}" for i in range(5)]]


async def test_batches_are_capped_at_max_batch() -> None:
    """More waiting than ``max_batch``: several batches, none larger than the cap."""
    store = RecordingLevelStore()
    subject = ingest(store, max_batch=4)

    await asyncio.gather(*(subject.apply(level(f"e{i}")) for i in range(10)))

    assert [len(b) for b in store.batches] == [4, 4, 2]


async def test_no_more_batches_in_flight_than_the_store_allows() -> None:
    """``parallel_batches`` bounds the batches at the database at once."""
    store = RecordingLevelStore(parallel_batches=2)
    store.gate = asyncio.Event()
    subject = ingest(store, max_batch=1)
    tasks = [asyncio.create_task(subject.apply(level(f"e{i}"))) for i in range(6)]
    await asyncio.sleep(0.05)

    assert store.in_flight == 2
    store.gate.set()
    await asyncio.gather(*tasks)
    assert (store.most_in_flight, len(store.batches)) == (2, 6)


async def test_a_failing_delivery_does_not_fail_the_others() -> None:
    """A batch that fails is retried one delivery at a time; only the culprit fails."""
    store = RecordingLevelStore()
    store.poison = {"e2"}
    subject = ingest(store)

    results = await asyncio.gather(
        *(subject.apply(level(f"e{i}")) for i in range(4)), return_exceptions=True
    )

    assert [type(r).__name__ for r in results] == [
        "WebhookOutcome",
        "WebhookOutcome",
        "StorageError",
        "WebhookOutcome",
    ]
    assert store.batches == [["e0"], ["e1"], ["e3"]]


async def test_a_request_that_goes_away_still_has_its_delivery_applied() -> None:
    """Cancelling a waiting request (client disconnect) does not drop its delivery."""
    store = RecordingLevelStore()
    store.gate = asyncio.Event()
    subject = ingest(store)
    task = asyncio.create_task(subject.apply(level("e1")))
    await asyncio.sleep(0.01)
    task.cancel()
    store.gate.set()

    await subject.aclose()

    assert store.batches == [["e1"]]
    assert task.cancelled()


async def test_shutdown_waits_for_every_delivery_handed_over() -> None:
    """``aclose`` returns once the batches in flight and those waiting are written."""
    store = RecordingLevelStore()
    store.gate = asyncio.Event()
    subject = ingest(store, max_batch=2)
    tasks = [asyncio.create_task(subject.apply(level(f"e{i}"))) for i in range(5)]
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(subject.aclose())
    await asyncio.sleep(0.01)

    assert not closing.done()
    store.gate.set()
    await closing
    assert sum(len(b) for b in store.batches) == 5
    assert all(t.done() for t in tasks)


async def test_one_summary_line_per_interval() -> None:
    """The first batch is summed up at once; later ones once ``SUMMARY_INTERVAL`` passed."""
    store = RecordingLevelStore()
    clock = FakeClock()
    subject = LevelIngest(store, clock, LOCATION)

    with structlog.testing.capture_logs() as logs:
        await subject.apply(level("e1"))
        await asyncio.gather(subject.apply(level("e2")), subject.apply(level("e2")))
        clock.advance(SUMMARY_INTERVAL.total_seconds())
        await subject.apply(level("e3"))
        await subject.apply(level("e4"))
        await subject.aclose()

    summaries = [
        {k: entry[k] for k in ("deliveries", "batches", "ignored", "duplicate")}
        for entry in logs
        if entry["event"] == "webhooks committed"
    ]
    assert summaries == [
        {"deliveries": 1, "batches": 1, "ignored": 1, "duplicate": 0},
        {"deliveries": 3, "batches": 2, "ignored": 2, "duplicate": 1},
        {"deliveries": 1, "batches": 1, "ignored": 1, "duplicate": 0},
    ]


async def test_a_failure_nobody_waits_for_is_not_reported_as_unretrieved() -> None:
    """A request gone away whose delivery then fails leaves no stray asyncio error."""
    store = RecordingLevelStore()
    store.gate = asyncio.Event()
    store.poison = {"e1"}
    subject = ingest(store)
    reported: list[str] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda loop, context: reported.append(context["message"])
    )
    task = asyncio.create_task(subject.apply(level("e1")))
    await asyncio.sleep(0.01)
    task.cancel()
    store.gate.set()
    await subject.aclose()
    del task
    gc.collect()
    await asyncio.sleep(0)

    assert reported == []
