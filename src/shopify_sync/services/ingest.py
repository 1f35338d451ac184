"""Group commit for ``inventory_levels/update`` deliveries.

Shopify delivers many webhooks at once. Each request hands its delivery to
:class:`LevelIngest` and waits; a batch task gathers what is waiting, applies it in one
transaction (``handlers.apply_inventory_levels``) and answers every request of the batch
after the commit, so nothing is acknowledged before it is durable.

A batch is cut once the deliveries already read from the network have joined (a few
event-loop rounds, microseconds: no timer), so batches grow with the load and a lone
delivery is written at once. While a batch is at the database the next one gathers, and
up to the store's ``parallel_batches`` are in flight together: on PostgreSQL a commit
waits for the disk, and the next batches' commits share that flush.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import structlog

from shopify_sync.domain.commands import ApplyInventoryLevel
from shopify_sync.domain.inbound import WebhookOutcome
from shopify_sync.services import handlers
from shopify_sync.services.ports import Clock, LevelStore
from shopify_sync.types import LocationId

log = structlog.get_logger(__name__)

MAX_BATCH = 250
"""Deliveries per transaction at most (bounded statement size and lock time)."""
GATHER_ROUNDS = 4
"""Event-loop rounds a batch waits at most for deliveries still arriving."""
SUMMARY_INTERVAL = timedelta(seconds=10)
"""At most one INFO line per this interval sums up the deliveries committed."""

_SUMMARY_KEYS = ("deliveries", "batches", "processed", "ignored", "duplicate")

_Waiting = tuple[ApplyInventoryLevel, asyncio.Future[WebhookOutcome]]


class LevelIngest:
    """Applies concurrent deliveries in shared transactions (group commit)."""

    def __init__(
        self,
        store: LevelStore,
        clock: Clock,
        location_id: LocationId,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._store = store
        self._clock = clock
        self._location_id = location_id
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._gathering = False
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._committed: Counter[str] = Counter()
        self._since: datetime | None = None

    async def apply(self, cmd: ApplyInventoryLevel) -> WebhookOutcome:
        """Apply one delivery with whatever else is waiting; returns after the commit.

        Raises:
            StorageError: the database failed; the delivery was not recorded.
        """
        future: asyncio.Future[WebhookOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((cmd, future))
        self._start_batch()
        # A request that goes away (client disconnect) leaves its delivery in the batch:
        # it is applied and recorded, and Shopify's retry is then a duplicate.
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_consume)  # nobody reads it: no "never retrieved"
            raise

    async def aclose(self) -> None:
        """Finish every delivery already handed over (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)
        self._summarise(force=True)

    def _count(self, outcomes: list[WebhookOutcome]) -> None:
        self._committed["batches"] += 1
        for outcome in outcomes:
            self._committed["deliveries"] += 1
            self._committed[outcome.status or "duplicate"] += 1
        self._summarise()

    def _summarise(self, *, force: bool = False) -> None:
        """One line for what was committed since the previous line (``since``), at most
        once per ``SUMMARY_INTERVAL``, and at shutdown."""
        now = self._clock.now()
        if not self._committed or (
            not force and self._since is not None and now - self._since < SUMMARY_INTERVAL
        ):
            return
        log.info(
            "webhooks committed",
            topic=handlers.INVENTORY_TOPIC,
            since=self._since.isoformat() if self._since else None,
            **{key: self._committed[key] for key in _SUMMARY_KEYS},
        )
        self._committed.clear()
        self._since = now

    def _start_batch(self) -> None:
        """Start gathering the next batch, unless one is gathering or enough are in flight."""
        if self._waiting and not self._gathering and self._running < self._store.parallel_batches:
            self._gathering = True
            task = asyncio.create_task(self._batch(), name="level-ingest")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _batch(self) -> None:
        try:
            await self._gather()
        finally:
            self._gathering = False
        batch = self._waiting[: self._max_batch]
        del self._waiting[: self._max_batch]
        if not batch:
            return
        self._running += 1
        try:
            self._start_batch()
            await self._run(batch)
        finally:
            self._running -= 1
            self._start_batch()

    async def _gather(self) -> None:
        """Let the deliveries already read from the network join before the batch is cut:
        yield to the event loop while the batch is still growing, a few rounds at most."""
        for _ in range(GATHER_ROUNDS):
            waiting = len(self._waiting)
            if waiting >= self._max_batch:
                return
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if len(self._waiting) == waiting:
                return

    async def _run(self, batch: list[_Waiting]) -> None:
        cmds = [cmd for cmd, _ in batch]
        try:
            outcomes = await handlers.apply_inventory_levels(
                cmds, self._store, self._clock, self._location_id
            )
        except Exception as exc:
            if len(batch) > 1:
                # Find the delivery that fails; the others must not fail with it.
                log.warning(
                    "webhook batch failed; applying its deliveries one by one",
                    deliveries=len(batch),
                    error=str(exc),
                )
                for waiting in batch:
                    await self._run([waiting])
                return
            _settle(batch[0][1], exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)
        self._count(outcomes)


def _consume(future: asyncio.Future[WebhookOutcome]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[WebhookOutcome], result: WebhookOutcome | Exception) -> None:
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
