"""Entrypoint: the long-running loops of ``serve``: pending pushes and the scheduled reconcile.

The pending loop runs every ``PENDING_SCAN_INTERVAL_SECONDS``, or at once when woken (a
webhook asked for a re-read, a product changed through our API), after a short window
that coalesces bursts into one batch. The reconcile loop runs every
``RECONCILE_INTERVAL_SECONDS`` under a lease, so several processes reconcile one at a time.
With ``PUBLIC_URL`` set, the webhook loop checks our subscriptions at start and every
``WEBHOOK_CHECK_INTERVAL_SECONDS`` (under a lease too), repairs them, and asks for a
reconcile at once when one had to be created: the deliveries lost meanwhile are what it
catches.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from shopify_sync.bootstrap import Container
from shopify_sync.domain.alerts import Thresholds
from shopify_sync.errors import ConfigError, StoreError
from shopify_sync.services import alerts, handlers, setup
from shopify_sync.services.history import flush_history, seconds_to_interval_end

log = structlog.get_logger(__name__)

COALESCE_WINDOW_S = 0.05
MONITOR_INTERVAL_S = 60.0
"""How often, at most, the dashboard's figures are stored and the alerts checked."""
FRESH_SHARE = 0.9
"""A reconcile that finished within this share of the interval makes the next one wait
(whichever process comes round first after it runs the next)."""
CHECK_EARLY_S = 0.05
"""The event loop may wake a timer this much early (its clock resolution): still on time."""
ALERTS_LEASE_TTL = timedelta(minutes=5)
"""Longer than a check takes (it stops sending at 80% of it and leaves the rest to the next
check), so that no other process starts the same check meanwhile; released as soon as the
check ends."""


@dataclass(frozen=True, slots=True)
class WebhookWatch:
    """The last check of our subscriptions by this process: what it found, or why it could
    not (``error``); ``check`` is None until one succeeded. ``repaired_at`` and ``repair``
    are the last check that had to change something (kept until another one does)."""

    address: str
    checked_at: datetime | None = None
    check: setup.WebhookCheck | None = None
    error: str | None = None
    repaired_at: datetime | None = None
    repair: setup.WebhookCheck | None = None


class Worker:
    """Runs the background loops inside the serving process."""

    def __init__(self, container: Container) -> None:
        self._c = container
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._reconcile_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.last_error: str | None = None
        address = container.settings.public_url
        self.webhooks: WebhookWatch | None = None if address is None else WebhookWatch(address)
        """None when PUBLIC_URL is unset (nothing watched)."""

    def wake(self) -> None:
        """Ask for a pending pass now (coalesced with other wake-ups)."""
        self._wake.set()

    def start(self) -> None:
        """Start both loops."""
        self._tasks = [
            asyncio.create_task(self._pending_loop(), name="pending"),
            asyncio.create_task(self._reconcile_loop(), name="reconcile"),
            asyncio.create_task(self._monitor_loop(), name="monitor"),
        ]
        if self.webhooks is not None:
            self._tasks.append(
                asyncio.create_task(self._webhook_loop(self.webhooks.address), name="webhooks")
            )

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop both loops: each finishes the pass it is in (pushes in flight are answered
        and settled, a reconcile releases its lease) for up to ``grace_s``; then what is
        still running is cancelled. A write cancelled that way stays in ``outbound_writes``
        and is resent with the same idempotency key by the next process."""
        self._stopping.set()
        self._wake.set()
        self._reconcile_now.set()
        running = [task for task in self._tasks if not task.done()]
        if running and grace_s > 0:
            _, late = await asyncio.wait(running, timeout=grace_s)
            if late:
                log.warning(
                    "shutdown: background work still running after the grace period; "
                    "cancelling it (writes in flight are resent by the next process)",
                    tasks=sorted(task.get_name() for task in late),
                    grace_s=grace_s,
                )
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _location_checked(self) -> bool:
        """Whether syncing may go on: ``SHOPIFY_LOCATION_ID`` names an active location.

        ``serve`` checks it before starting; this covers a start while Shopify was down.
        Nothing is synced (so no product is parked) until the check passes.
        """
        try:
            await self._c.check_location()
        except ConfigError as exc:
            self._hold(f"not syncing: configuration error: {exc}")
            return False
        except StoreError as exc:
            self._hold(f"not syncing yet: SHOPIFY_LOCATION_ID not checked ({exc})")
            return False
        return True

    def _hold(self, reason: str) -> None:
        """Say why syncing waits: in ``/health`` always, in the log once per new reason."""
        if reason != self.last_error:
            log.error(reason)
        self.last_error = reason

    async def _pending_loop(self) -> None:
        interval = self._c.settings.pending_scan_interval_s
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
                await asyncio.sleep(COALESCE_WINDOW_S)
            if self._stopping.is_set():
                return
            self._wake.clear()
            await self._c.refusals.flush()
            if not await self._location_checked():
                continue
            try:
                report = await handlers.push_pending(self._c.uow, self._c.engine, self._c.clock)
                if report.checked:
                    log.info(
                        "pending pushed",
                        checked=report.checked,
                        changed=report.changed,
                        failed=report.failed,
                    )
                self.last_error = None
            except Exception as exc:  # the loop must survive anything; the next pass retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("pending pass failed; retrying at the next pass")

    async def _monitor_loop(self) -> None:
        """Every ``ALERT_CHECK_INTERVAL_SECONDS`` (at most a minute): store the dashboard's
        figures and check the alert conditions; the figures also just before each of their
        intervals ends, and once more at stop."""
        settings = self._c.settings
        interval = min(MONITOR_INTERVAL_S, settings.alert_check_interval_s)
        keep = timedelta(days=settings.history_retention_days)
        watch = alerts.Watch(
            limits=Thresholds(
                parked_products=settings.alert_parked_products,
                error_age=timedelta(minutes=settings.alert_error_minutes),
                reconcile_missed_intervals=settings.alert_reconcile_missed_intervals,
                drift_products=settings.alert_drift_products,
                outage_pause=timedelta(minutes=settings.alert_outage_minutes),
            ),
            reconcile_interval=timedelta(seconds=settings.reconcile_interval_s),
            watching_since=self._c.clock.now(),
            address=settings.public_url,
        )
        loop = asyncio.get_running_loop()
        check_at = loop.time() + interval
        while True:
            wait = check_at - loop.time()
            if self._c.history is not None:
                # Also just before each interval ends: the webhook path's figures, counted
                # without the clock, go under the interval of the flush that rolls them.
                wait = min(wait, seconds_to_interval_end(self._c.clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=max(wait, 0.0))
            check = loop.time() >= check_at - CHECK_EARLY_S
            if check:
                check_at = loop.time() + interval
            try:
                if self._c.history is not None:
                    await flush_history(self._c.history, self._c.uow, self._c.clock, keep)
                if check and self._c.alerts is not None and not self._stopping.is_set():
                    await alerts.check_alerts(
                        self._c.holder, self._c.uow, self._c.store, self._c.clock,
                        self._c.alerts, watch,
                        self._c.outage.outage_since,
                        ttl=ALERTS_LEASE_TTL,
                    )  # fmt: skip
            except Exception:  # the loop must survive anything; the next pass retries
                log.exception("monitoring pass failed; retrying at the next pass")
            if self._stopping.is_set():
                return

    async def _reconcile_loop(self) -> None:
        interval = self._c.settings.reconcile_interval_s
        ttl = timedelta(seconds=max(60, interval))
        # Every process comes round once per interval; the first that finds the last
        # reconcile older than this runs the next one. Start-up and a repaired subscription
        # run one regardless.
        fresh_for = timedelta(seconds=interval * FRESH_SHARE)
        forced = True
        while not self._stopping.is_set():
            if not await self._location_checked():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=interval)
                continue
            try:
                ran = await handlers.scheduled_reconcile(
                    self._c.holder, ttl, self._c.uow, self._c.engine, self._c.clock,
                    fresh_for=None if forced else fresh_for,
                )  # fmt: skip
                if ran is not None:
                    keep = timedelta(days=self._c.settings.webhook_events_retention_days)
                    await handlers.prune_webhook_events(self._c.uow, self._c.clock, keep)
            except Exception:  # the loop must survive anything; the next run retries
                log.exception("scheduled reconcile failed; retrying at the next interval")
            forced = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_now.wait(), timeout=interval)
                if not self._stopping.is_set():
                    log.info("reconcile now: a webhook subscription had to be created again")
                    forced = True
            self._reconcile_now.clear()

    async def _webhook_loop(self, address: str) -> None:
        c = self._c
        interval = c.settings.webhook_check_interval_s
        ttl = timedelta(seconds=max(60, interval))
        while not self._stopping.is_set():
            try:
                check = await setup.scheduled_webhook_check(
                    c.holder, ttl, address, c.uow, c.store, c.clock
                )
                if check is not None:
                    self._checked(check)
            except StoreError as exc:
                if self.webhooks is not None:
                    self.webhooks = replace(self.webhooks, checked_at=c.clock.now(), error=str(exc))
                log.warning(
                    "webhook subscriptions not checked",
                    error=str(exc),
                    detail=f"retrying in {interval} s",
                )
            except Exception:  # the loop must survive anything; the next check retries
                log.exception("webhook check failed; retrying at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)

    def _checked(self, check: setup.WebhookCheck) -> None:
        assert self.webhooks is not None
        now = self._c.clock.now()
        self.webhooks = replace(self.webhooks, checked_at=now, check=check, error=None)
        if check.created or check.deleted:
            self.webhooks = replace(self.webhooks, repaired_at=now, repair=check)
        if check.created:
            self._reconcile_now.set()
