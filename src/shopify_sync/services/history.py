"""The dashboard's history: per-interval figures counted in memory, flushed to the database
about once a minute by every process, and read back as chart series.

Counting is a dictionary addition on the path that counts (``HistoryRecorder`` implements
the ``Metrics`` port); the database sees one upsert per flush, whatever the traffic. The
charts read the compact table (``metric_intervals``: one row per five minutes and figure),
never the audit log.

What every webhook delivery counts (deliveries, refusals, lag, changes pulled) goes into
plain numbers without reading the clock; :meth:`HistoryRecorder.roll` adds them to the
current interval. Every flush rolls, and the worker also flushes just before each interval
ends (``seconds_to_interval_end``), so a figure lands in the interval it was counted in,
give or take the event loop's delay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from shopify_sync.errors import StorageError
from shopify_sync.services.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger(__name__)

INTERVAL = timedelta(minutes=5)
"""The stored resolution."""
REFUSED = frozenset({"bad_signature", "malformed", "too_large", "unavailable"})
"""Webhook outcomes that were not taken (Shopify retries them, or they were bad)."""

_Key = tuple[datetime, str]


def interval_start(moment: datetime, step: timedelta = INTERVAL) -> datetime:
    """The start of the interval of length ``step`` that holds ``moment`` (UTC)."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


ROLL_AHEAD_S = 0.05
"""How long before an interval ends the worker's last flush of it runs."""


def seconds_to_interval_end(moment: datetime) -> float:
    """Seconds from ``moment`` until just before (``ROLL_AHEAD_S``) the current interval
    ends; the next interval's end when that moment has passed."""
    left = (interval_start(moment) + INTERVAL - moment).total_seconds() - ROLL_AHEAD_S
    return left if left > ROLL_AHEAD_S else left + INTERVAL.total_seconds()


class HistoryRecorder:
    """Counts the dashboard's figures per interval in memory (the ``Metrics`` port); the
    worker flushes them with :func:`flush_history`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sums: defaultdict[_Key, float] = defaultdict(float)
        self._maxima: dict[_Key, float] = {}
        self._interval = (datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))
        # Counted on every webhook delivery, added to the current interval by ``roll``.
        self._webhooks = 0
        self._refused = 0
        self._lag_count = 0
        self._lag_sum = 0.0
        self._lag_max = float("-inf")
        self._pulled = 0

    def _start(self) -> datetime:
        """The current interval's start, worked out again only when it has passed (this
        runs on every webhook delivery)."""
        now = self._clock.now()
        start, end = self._interval
        if not start <= now < end:
            start = interval_start(now)
            self._interval = (start, start + INTERVAL)
        return start

    def _add(self, name: str, value: float, start: datetime | None = None) -> None:
        self._sums[(start or self._start(), name)] += value

    def _max(self, name: str, value: float, start: datetime | None = None) -> None:
        key = (start or self._start(), name)
        if value > self._maxima.get(key, float("-inf")):
            self._maxima[key] = value

    def _timing(self, sum_: str, count: str, max_: str, seconds: float) -> None:
        start = self._start()
        self._sums[(start, sum_)] += seconds
        self._sums[(start, count)] += 1
        self._max(max_, seconds, start)

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        """Count a delivery: taken, or refused; an applied one's lag (plain additions, no
        clock read: :meth:`roll` files them under their interval)."""
        if outcome in REFUSED:
            self._refused += 1
        else:
            self._webhooks += 1
        if lag_s is not None:
            lag = lag_s if lag_s > 0.0 else 0.0
            self._lag_count += 1
            self._lag_sum += lag
            if lag > self._lag_max:
                self._lag_max = lag

    def pushed(self, products: int, latency_s: float | None) -> None:
        """Count changes pushed and the write's latency."""
        self._add("pushed", products)
        if latency_s is not None:
            self._timing(
                "push_latency_sum", "push_latency_count", "push_latency_max", max(latency_s, 0.0)
            )

    def pulled(self, products: int, via: str) -> None:
        """Count Shopify-side changes taken in (a plain addition, filed by :meth:`roll`)."""
        self._pulled += products

    def roll(self) -> None:
        """Add what the webhook path counted since the last roll to the current interval."""
        if not (self._webhooks or self._refused or self._lag_count or self._pulled):
            return
        start = self._start()
        for name, value in (
            ("webhooks", self._webhooks),
            ("webhooks_refused", self._refused),
            ("pulled", self._pulled),
        ):
            if value:
                self._sums[(start, name)] += value
        if self._lag_count:
            self._sums[(start, "webhook_lag_sum")] += self._lag_sum
            self._sums[(start, "webhook_lag_count")] += self._lag_count
            self._max("webhook_lag_max", self._lag_max, start)
        self._webhooks = self._refused = self._lag_count = self._pulled = 0
        self._lag_sum = 0.0
        self._lag_max = float("-inf")

    def sync_failed(self, products: int) -> None:
        """Count failed sync attempts."""
        self._add("sync_failures", products)

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        """Count failed calls to Shopify."""
        if outcome != "ok":
            self._add("shopify_errors", 1)

    def shopify_cost(self, points: float, available: float | None) -> None:
        """Not charted."""

    def shopify_waited(self, seconds: float) -> None:
        """Not charted."""

    def outage_pause(self, on: bool) -> None:
        """Not charted (``OutageWatch`` keeps its start for the dashboard and the alerts)."""

    def token_renewed(self, outcome: str) -> None:
        """Not charted."""

    def sign_in(self, outcome: str) -> None:
        """Not charted."""

    def reconciled(
        self,
        *,
        ok: bool,
        duration_s: float,
        checked: int,
        pushed: int,
        pulled: int,
        failed: int,
    ) -> None:
        """Count a reconcile and the drift it found (products that differed)."""
        self._add("reconciles", 1)
        self._add("drift", pushed + pulled)
        self._max("drift_max", pushed + pulled)

    def take(self) -> tuple[dict[_Key, float], dict[_Key, float]]:
        """What was counted since the last take (sums, maxima), emptied."""
        self.roll()
        sums, maxima = dict(self._sums), self._maxima
        self._sums = defaultdict(float)
        self._maxima = {}
        return sums, maxima

    def put_back(self, sums: Mapping[_Key, float], maxima: Mapping[_Key, float]) -> None:
        """Return figures a failed flush could not store (the next flush retries them)."""
        for key, value in sums.items():
            self._sums[key] += value
        for key, value in maxima.items():
            if value > self._maxima.get(key, float("-inf")):
                self._maxima[key] = value


async def flush_history(
    recorder: HistoryRecorder, uow: UnitOfWorkFactory, clock: Clock, keep: timedelta
) -> None:
    """Store what ``recorder`` counted and forget intervals older than ``keep``. A database
    failure keeps the figures for the next flush; it never reaches the caller."""
    sums, maxima = recorder.take()
    try:
        async with uow() as unit:
            await unit.history.add(sums, maxima)
            await unit.history.prune(interval_start(clock.now()) - keep)
            await unit.commit()
    except StorageError as exc:
        recorder.put_back(sums, maxima)
        log.warning("dashboard history not stored; kept for the next flush", error=str(exc))


@dataclass(frozen=True, slots=True)
class Point:
    """One interval of a chart: its start and each figure's value (absent: 0)."""

    start: datetime
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class History:
    """The figures of a window, per step, oldest first (every step present)."""

    window: timedelta
    step: timedelta
    points: Sequence[Point]


WINDOWS = {
    "24h": (timedelta(hours=24), timedelta(minutes=15)),
    "7d": (timedelta(days=7), timedelta(hours=1)),
}
"""The dashboard's windows: length and step."""


async def read_history(uow: UnitOfWorkFactory, clock: Clock, window: str) -> History:
    """The figures of ``window`` (``24h`` or ``7d``) per step, with averages of lag and
    latency (``*_avg``) worked out from their sums and counts.

    Raises:
        StorageError: the database failed.
    """
    length, step = WINDOWS[window]
    end = interval_start(clock.now(), step) + step
    start = end - length
    async with uow() as unit:
        rows = await unit.history.since(start)
    steps: dict[datetime, dict[str, float]] = {
        start + step * n: defaultdict(float) for n in range(int(length / step))
    }
    for at, name, value in rows:
        values = steps.get(interval_start(at, step))
        if values is None:
            continue
        if name.endswith("_max"):
            values[name] = max(values[name], value)
        else:
            values[name] += value
    points = []
    for at, values in steps.items():
        for timing in ("webhook_lag", "push_latency"):
            count = values.get(f"{timing}_count", 0.0)
            if count:
                values[f"{timing}_avg"] = values[f"{timing}_sum"] / count
        points.append(Point(at, dict(values)))
    return History(length, step, points)
