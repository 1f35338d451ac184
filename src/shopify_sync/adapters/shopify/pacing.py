"""Adapter: pacing for Shopify's cost-based rate limit, backoff for retries, and a pause
in an outage.

Shopify's GraphQL limit is a leaky bucket of points (``throttleStatus`` on every
response). :class:`CostLimiter` keeps an estimate of the bucket, refilled at the restore
rate since the last report, and makes a call wait until its expected cost fits, so we
are rarely throttled at all. :class:`Backoff` spaces retries of failed calls.
:class:`OutagePause` stops calling Shopify for a while once a call failed through all its
retries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import structlog

from shopify_sync.adapters.shopify.envelope import Cost
from shopify_sync.errors import StoreUnavailable
from shopify_sync.services.ports import Clock, Metrics

_log = structlog.get_logger(__name__)

MIN_THROTTLE_WAIT_S = 0.1
"""Shortest wait after a THROTTLED answer, even when the numbers say the bucket has room."""
DEFAULT_RETRY_AFTER_S = 1.0
"""Wait after a 429 without a usable ``Retry-After`` (Shopify's REST default is 1 s)."""


class CostLimiter:
    """
    An estimate of Shopify's cost bucket for this app and store, shared by concurrent calls.

    Before the first report nothing waits. Each call reserves its expected cost at once, so
    concurrent callers queue behind each other instead of all seeing the same free points.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._available = 0.0
        self._maximum = 0.0
        self._restore_rate = 0.0
        self._observed_at: datetime | None = None

    def estimate(self) -> float | None:
        """Points available now by our estimate; None before Shopify has reported any."""
        if self._observed_at is None:
            return None
        elapsed = (self._clock.now() - self._observed_at).total_seconds()
        return min(self._maximum, self._available + self._restore_rate * max(elapsed, 0.0))

    def reserve(self, cost: float) -> float:
        """
        Reserve *cost* points and return how long to wait before sending (0 if it fits).

        A cost above the bucket's size is capped at the size: waiting longer cannot help,
        and Shopify will answer with its own error.
        """
        estimate = self.estimate()
        if estimate is None or self._restore_rate <= 0:
            return 0.0
        wanted = min(cost, self._maximum)
        # Book the points now (the estimate may go negative): the next caller waits for them.
        self._available = estimate - wanted
        self._observed_at = self._clock.now()
        if estimate >= wanted:
            return 0.0
        return (wanted - estimate) / self._restore_rate

    def observe(self, cost: Cost | None) -> None:
        """Take Shopify's report of the bucket after a call as the new estimate."""
        if cost is None or cost.throttle_status is None:
            return
        status = cost.throttle_status
        self._maximum = status.maximum_available
        self._available = status.currently_available
        self._restore_rate = status.restore_rate
        self._observed_at = self._clock.now()

    def throttled_wait(self, cost: Cost | None) -> float:
        """How long to wait after a THROTTLED answer: until the requested cost has restored."""
        if cost is None or cost.throttle_status is None or cost.requested_query_cost is None:
            return DEFAULT_RETRY_AFTER_S
        status = cost.throttle_status
        if status.restore_rate <= 0:
            return DEFAULT_RETRY_AFTER_S
        missing = cost.requested_query_cost - status.currently_available
        return max(missing / status.restore_rate, MIN_THROTTLE_WAIT_S)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of base * 2^n."""

    rng: random.Random
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """The wait before retry number *attempt* (0 for the first retry)."""
        ceiling = min(self.cap_s, self.base_s * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


DEFAULT_OUTAGE_PAUSE_S = 15.0
"""How long calls pause after one failed through all its retries (then doubled per failed
probe, up to :data:`MAX_OUTAGE_PAUSE_S`)."""
MAX_OUTAGE_PAUSE_S = 300.0


class OutagePause:
    """
    A circuit breaker for Shopify outages, shared by the calls of one client.

    A call that failed through all its attempts with timeouts, network errors or 5xx opens
    it: for ``pause_s`` every call fails at once with
    :class:`~shopify_sync.errors.StoreUnavailable`, without being sent. So a reconcile
    does not spend a full round of retries on each of its hundreds of writes while Shopify
    is down (each write is kept and resent later under the same key, each product records
    the error and its next try), and Shopify is not hammered while it recovers. After the
    pause one call goes through as a probe: an answer closes the breaker, a failure opens
    it again for twice as long, up to ``max_pause_s``. Throttling and refusals are answers:
    they never open it. ``pause_s`` 0 turns it off.
    """

    def __init__(
        self,
        clock: Clock,
        pause_s: float = DEFAULT_OUTAGE_PAUSE_S,
        max_pause_s: float = MAX_OUTAGE_PAUSE_S,
        metrics: Metrics | None = None,
    ) -> None:
        self._clock = clock
        self._metrics = metrics
        self._base_s = pause_s
        self._max_s = max(max_pause_s, pause_s)
        self._pause_s = pause_s
        self._until: datetime | None = None
        self._since: datetime | None = None
        self._detail = ""
        self._probing = False

    def check(self) -> None:
        """Let a call through, or refuse it while the pause lasts.

        Raises:
            StoreUnavailable: paused; nothing was sent. Its message says since when Shopify
                failed, how, and until when calls are paused.
        """
        if self._until is None:
            return
        now = self._clock.now()
        if now < self._until:
            assert self._since is not None
            raise StoreUnavailable(
                f"{self._detail}; calls to Shopify paused since "
                f"{self._since:%Y-%m-%d %H:%M:%S} UTC until {self._until:%Y-%m-%d %H:%M:%S} UTC, "
                "then retried"
            )
        # This call is the probe; the others wait out another pause meanwhile.
        self._until = now + timedelta(seconds=self._pause_s)
        self._probing = True

    def answered(self) -> None:
        """Shopify answered a call (data, a refusal or throttling): it is reachable."""
        if self._until is None:
            return
        _log.info(
            "shopify_reachable_again",
            unavailable_since=self._since.isoformat() if self._since else None,
        )
        self._until = self._since = None
        self._probing = False
        if self._metrics is not None:
            self._metrics.outage_pause(False)

    def failed(self, operation: str, reason: str, detail: str = "") -> None:
        """A call failed through all its attempts: pause every call (the probe's failure:
        twice as long; a call sent before the pause began changes nothing).

        Args:
            operation: the call's name, for the log.
            reason: a short code for the log and metrics (``http_503``, ``ConnectError``).
            detail: what failed, in words, for the message of the calls refused meanwhile.
        """
        if self._base_s <= 0:
            return
        now = self._clock.now()
        if self._until is None:
            self._since = now
            self._pause_s = self._base_s
            if self._metrics is not None:
                self._metrics.outage_pause(True)
        elif self._probing:
            self._pause_s = min(self._max_s, self._pause_s * 2)
            self._probing = False
        else:
            return
        self._until = now + timedelta(seconds=self._pause_s)
        self._detail = detail or f"Shopify failed ({reason})"
        _log.error(
            "shopify_calls_paused",
            operation=operation,
            reason=reason,
            pause_s=self._pause_s,
            detail="every call fails at once until then; products record the error and "
            "their next try, writes are kept and resent under the same key",
        )


def retry_after_s(header: str | None, now: datetime) -> float:
    """
    Seconds to wait from a ``Retry-After`` header: seconds (decimals allowed) or an HTTP date.

    A missing or unreadable header gives :data:`DEFAULT_RETRY_AFTER_S`.
    """
    if header is None or not header.strip():
        return DEFAULT_RETRY_AFTER_S
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    if when.tzinfo is None:
        return DEFAULT_RETRY_AFTER_S
    return max((when - now).total_seconds(), 0.0)
