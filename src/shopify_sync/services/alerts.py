"""Use cases: check the alert conditions and notify each start and clearing once to each
channel, across every process (a lease and ``alert_states``); send a test alert.

A check reads the products' states and the last reconcile in the database, asks Shopify for
our webhook subscriptions (which also shows whether it accepts our credentials), and takes
this process's outage pause. Each channel's delivery is recorded on its own: one that fails
(after the sender's retries) is logged and left pending for that channel, and the next check
sends it again there only. Nothing here raises into the sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from shopify_sync.domain.alerts import (
    EVERY_CHANNEL,
    Facts,
    Thresholds,
    Transition,
    channel_transitions,
    conditions,
)
from shopify_sync.errors import (
    AlertDeliveryFailed,
    StorageError,
    StoreAuthFailed,
    StoreError,
    StoreRejected,
)
from shopify_sync.services.handlers import under_lease
from shopify_sync.services.ports import AlertSender, Clock, StoreClient, UnitOfWorkFactory
from shopify_sync.services.setup import WEBHOOK_PATHS, compare_webhooks

log = structlog.get_logger(__name__)

ALERTS_LEASE = "alerts"
REFUSED_STATUSES = frozenset({401, 403})
SENDING_SHARE = 0.8
"""The share of the lease's time a check may spend sending; what is left after it waits
for the next check, so that no other process takes the lease over a check still sending
(each message may take a channel's retries, about half a minute against a receiver that
times out)."""


@dataclass(frozen=True, slots=True)
class Watch:
    """What a check needs besides the ports."""

    limits: Thresholds
    reconcile_interval: timedelta
    watching_since: datetime
    address: str | None
    """``PUBLIC_URL``: subscriptions must deliver there; None: any address will do."""


async def gather_facts(
    uow: UnitOfWorkFactory,
    store: StoreClient,
    clock: Clock,
    watch: Watch,
    outage_since: datetime | None,
) -> Facts:
    """What holds now; what cannot be known this time (database or Shopify down) is None."""
    parked: int | None = None
    oldest: datetime | None = None
    last_ok: datetime | None = None
    drift: int | None = None
    errors_known = False
    try:
        async with uow() as unit:
            states = await unit.products.states()
            last = await unit.runs.last("reconcile")
        parked, oldest, last_ok = (
            states.counts["parked"],
            states.oldest_error_since,
            (states.last_reconcile_ok_at),
        )
        errors_known = True
        if last is not None and last.finished_at is not None and last.error is None:
            drift = last.changed
    except StorageError as exc:
        log.warning(
            "alerts: database unreachable; its conditions left as they were", error=str(exc)
        )
    missing: tuple[str, ...] | None = None
    refused: str | None = None
    credentials_known = False
    try:
        subscriptions = await store.webhook_subscriptions()
        credentials_known = True
        if watch.address:
            missing = tuple(
                topic for topic, _ in compare_webhooks(subscriptions, watch.address).missing
            )
        else:
            topics = {s.topic for s in subscriptions}
            missing = tuple(topic for topic in WEBHOOK_PATHS if topic not in topics)
    except StoreAuthFailed as exc:
        refused, credentials_known = str(exc), True
    except StoreRejected as exc:
        if exc.status in REFUSED_STATUSES:
            refused, credentials_known = str(exc), True
    except StoreError as exc:
        log.info("alerts: Shopify not asked this time", error=str(exc))
    return Facts(
        now=clock.now(),
        parked=parked,
        oldest_error_since=oldest,
        errors_known=errors_known,
        last_reconcile_ok_at=last_ok,
        watching_since=watch.watching_since,
        reconcile_interval=watch.reconcile_interval,
        last_reconcile_drift=drift,
        subscriptions_missing=missing,
        credentials_refused=refused,
        credentials_known=credentials_known,
        outage_since=outage_since,
    )


async def notify(
    found: Sequence[tuple[str, Transition]],
    uow: UnitOfWorkFactory,
    sender: AlertSender,
    clock: Clock,
    until: datetime | None = None,
) -> list[tuple[str, Transition]]:
    """Send each (channel, transition) to its channel and record it for that channel once
    delivered; returns those delivered. A failed one is logged and stays pending for the
    next check, for that channel only; so do those not started by ``until``."""
    sent: list[tuple[str, Transition]] = []
    for n, (channel, transition) in enumerate(found):
        now = clock.now()
        if until is not None and now >= until:
            log.warning(
                "alert check out of time; the next check sends the rest",
                left=len(found) - n,
            )
            break
        try:
            await sender.send(transition, now, channel)
        except AlertDeliveryFailed as exc:
            log.error(
                "alert not delivered; the next check sends it again",
                condition=transition.condition,
                change=transition.change,
                channel=channel,
                error=str(exc),
            )
            continue
        async with uow() as unit:
            if transition.change == "started":
                await unit.alerts.started(transition.condition, channel, transition.message, now)
            else:
                await unit.alerts.cleared(transition.condition, channel)
            await unit.commit()
        log.warning(
            "alert sent", condition=transition.condition, change=transition.change,
            channel=channel, message=transition.message,
        )  # fmt: skip
        sent.append((channel, transition))
    return sent


async def notified_by_channel(
    uow: UnitOfWorkFactory, channels: Sequence[str]
) -> dict[str, dict[str, str]]:
    """What each channel was last told is on; rows kept from before channels were told
    apart (they stood for every channel) are first copied to each of ``channels``."""
    async with uow() as unit:
        notified = await unit.alerts.notified()
    if EVERY_CHANNEL not in notified:
        return notified
    async with uow() as unit:
        await unit.alerts.spread(channels)
        await unit.commit()
    async with uow() as unit:
        return await unit.alerts.notified()


async def check_alerts(
    holder: str,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    clock: Clock,
    sender: AlertSender,
    watch: Watch,
    outage_since: datetime | None,
    ttl: timedelta,
) -> list[tuple[str, Transition]] | None:
    """One check, by one process at a time: the (channel, transition) pairs delivered, or
    None when another process holds the lease (it checks instead)."""

    async def work() -> list[tuple[str, Transition]]:
        until = clock.now() + ttl * SENDING_SHARE
        facts = await gather_facts(uow, store, clock, watch, outage_since)
        notified = await notified_by_channel(uow, sender.channels)
        found = channel_transitions(notified, sender.channels, conditions(facts, watch.limits))
        return await notify(found, uow, sender, clock, until)

    return await under_lease(ALERTS_LEASE, holder, ttl, uow, clock, work)


TEST_TRANSITION = Transition(
    "test", "started", "a test message from `shopify-sync alerts test`: alerts reach you"
)


async def send_test(sender: AlertSender, clock: Clock) -> tuple[str, ...]:
    """Send a test message to every channel; returns the channels.

    Raises:
        AlertDeliveryFailed: a channel failed (named).
    """
    await sender.send(TEST_TRANSITION, clock.now())
    return sender.channels
