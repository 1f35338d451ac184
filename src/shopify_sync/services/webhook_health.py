"""Use case: notice a wrong webhook secret from the deliveries it makes us refuse.

With a wrong ``SHOPIFY_WEBHOOK_SECRET`` every delivery fails its signature check (401) and
Shopify keeps retrying; nothing else looks wrong. Refusals are counted in memory and added
to the database at most once a second per process (one row per minute and reason, however
many requests: a flood of forged ones costs no rows), so every ``serve`` process, ``/health``,
the admin page and ``shopify-sync errors`` see the same counts. Accepted deliveries are
already recorded (``webhook_events``); the alarm is: at least ``ALARM_MIN_REFUSED``
signature refusals in the last ``ALARM_WINDOW`` and none accepted since.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import structlog

from shopify_sync.domain.model import WebhookRefusals
from shopify_sync.errors import StorageError
from shopify_sync.services.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger(__name__)

SIGNATURE = "signature"
"""The signature header did not match the body under any of our secrets."""
UNSIGNED = "unsigned"
"""No signature header at all: not Shopify (counted, never an alarm about the secret)."""
ALARM_WINDOW = timedelta(hours=1)
ALARM_MIN_REFUSED = 3
FLUSH_EVERY_S = 1.0


class RefusalCounter:
    """Counts refused deliveries and adds them to the database at most every ``flush_every_s``.

    ``refused`` is called on the request path: it writes only when the last write is older
    than ``flush_every_s``; the background worker calls ``flush`` to write what is left.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, *, flush_every_s: float = FLUSH_EVERY_S
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._every = timedelta(seconds=flush_every_s)
        self._pending: Counter[tuple[datetime, str]] = Counter()
        self._last_at: dict[tuple[datetime, str], datetime] = {}
        self._flushed_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def refused(self, reason: str) -> None:
        """Count one refused delivery; write the counts if none were written for a while."""
        now = self._clock.now()
        key = (now.replace(second=0, microsecond=0), reason)
        self._pending[key] += 1
        self._last_at[key] = now
        if self._flushed_at is None or now - self._flushed_at >= self._every:
            await self.flush()

    async def flush(self) -> None:
        """Add the counts not written yet; on a database error keep them for the next time."""
        async with self._lock:
            if not self._pending:
                return
            pending, last_at = self._pending, self._last_at
            self._pending, self._last_at = Counter(), {}
            self._flushed_at = self._clock.now()
            counts = [
                WebhookRefusals(minute, reason, refused, last_at[(minute, reason)])
                for (minute, reason), refused in sorted(pending.items())
            ]
            try:
                async with self._uow() as unit:
                    await unit.webhooks.add_refusals(counts)
                    await unit.commit()
            except StorageError as exc:
                self._pending.update(pending)
                for key, when in last_at.items():
                    self._last_at[key] = max(when, self._last_at.get(key, when))
                log.warning("webhook refusals not recorded yet", error=str(exc))


async def signature_alarm(
    uow: UnitOfWorkFactory, clock: Clock, *, window: timedelta = ALARM_WINDOW
) -> str | None:
    """Why the webhook secret looks wrong, for operators, or None when it does not.

    Counts whole minutes: refusals earlier in the minute of the last accepted delivery may
    be counted too, which only matters below the threshold.
    """
    async with uow() as unit:
        counts = await unit.webhooks.refusals_since(clock.now() - window)
        accepted = await unit.webhooks.last_received_at()
    refused = sum(
        c.refused
        for c in counts
        if c.reason == SIGNATURE and (accepted is None or c.last_at > accepted)
    )
    if refused < ALARM_MIN_REFUSED:
        return None
    hours = window.total_seconds() / 3600
    span = "hour" if hours == 1 else f"{hours:g} hours"
    return (
        f"{refused} webhook deliveries in the last {span} were refused for their signature "
        "and none was accepted since: check that SHOPIFY_WEBHOOK_SECRET is the app's client "
        "secret (Shopify signs webhooks with it); Shopify retries each refused delivery for "
        "4 hours, and the reconcile catches up on what was missed"
    )
