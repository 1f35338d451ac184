"""Alert conditions and their state machine (pure).

Each condition is on or off at every check. An alert is a change of state: a message when a
condition starts and one when it clears, never one per check. What each channel (the webhook
receiver, the e-mail recipients) was last told is kept (in the database, shared by every
process), and :func:`channel_transitions` compares it with what holds now, channel by
channel: a transition a channel could not be sent stays pending for that channel alone, so
the next check sends it again there and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

CONDITIONS = (
    "products_parked",
    "errors_old",
    "reconcile_missing",
    "drift_high",
    "webhook_subscription_missing",
    "shopify_credentials_refused",
    "outage_pause_long",
)
"""Every condition, in the order messages are sent."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When each condition starts (operators set these)."""

    parked_products: int = 1
    """Products parked (given up on until an operator retries) at or above this."""
    error_age: timedelta = timedelta(minutes=30)
    """An unresolved sync error older than this."""
    reconcile_missed_intervals: int = 3
    """No successful reconcile for this many reconcile intervals."""
    drift_products: int = 50
    """A reconcile that found more products than this differing (webhooks being lost)."""
    outage_pause: timedelta = timedelta(minutes=10)
    """Calls to Shopify paused (outage) for longer than this."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What a check found. ``None`` means unknown this time (the state is left as it was)."""

    now: datetime
    parked: int | None
    oldest_error_since: datetime | None
    errors_known: bool
    last_reconcile_ok_at: datetime | None
    watching_since: datetime
    """When this process began looking (the reconcile age counts from here before any)."""
    reconcile_interval: timedelta
    last_reconcile_drift: int | None
    subscriptions_missing: tuple[str, ...] | None
    credentials_refused: str | None
    credentials_known: bool
    outage_since: datetime | None


def conditions(facts: Facts, limits: Thresholds) -> dict[str, str | None]:
    """Each condition's state: a message when on, None when off. Conditions whose facts are
    unknown this time are left out (neither started nor cleared)."""
    found: dict[str, str | None] = {}
    if facts.parked is not None:
        found["products_parked"] = (
            f"{facts.parked} product(s) parked after repeated failures: fix the cause, then "
            "retry them (`shopify-sync retry --parked` or the admin's Errors page)"
            if facts.parked >= limits.parked_products
            else None
        )
    if facts.errors_known:
        since = facts.oldest_error_since
        found["errors_old"] = (
            f"a product's sync has failed since {since:%Y-%m-%d %H:%M} UTC (over "
            f"{_minutes(limits.error_age)}): see `shopify-sync errors`"
            if since is not None and facts.now - since > limits.error_age
            else None
        )
        last = facts.last_reconcile_ok_at or facts.watching_since
        allowed = facts.reconcile_interval * limits.reconcile_missed_intervals
        found["reconcile_missing"] = (
            f"no successful reconcile since {last:%Y-%m-%d %H:%M} UTC "
            f"({limits.reconcile_missed_intervals} intervals): see /health and the log"
            if facts.now - last > allowed
            else None
        )
    if facts.last_reconcile_drift is not None:
        found["drift_high"] = (
            f"the last reconcile found {facts.last_reconcile_drift} products differing "
            f"(over {limits.drift_products}): webhooks may be getting lost"
            if facts.last_reconcile_drift > limits.drift_products
            else None
        )
    if facts.subscriptions_missing is not None:
        found["webhook_subscription_missing"] = (
            "webhook subscription missing for "
            + ", ".join(facts.subscriptions_missing)
            + ": `shopify-sync webhooks check --repair`"
            if facts.subscriptions_missing
            else None
        )
    if facts.credentials_known:
        found["shopify_credentials_refused"] = (
            f"Shopify refuses our credentials: {facts.credentials_refused}"
            if facts.credentials_refused
            else None
        )
    outage = facts.outage_since
    found["outage_pause_long"] = (
        f"calls to Shopify paused since {outage:%Y-%m-%d %H:%M} UTC (Shopify unavailable for "
        f"over {_minutes(limits.outage_pause)})"
        if outage is not None and facts.now - outage > limits.outage_pause
        else None
    )
    return found


@dataclass(frozen=True, slots=True)
class Transition:
    """A condition that started or cleared since it was last notified."""

    condition: str
    change: Literal["started", "cleared"]
    message: str
    """What holds (started) or what held (cleared)."""


def transitions(notified: Mapping[str, str], now_on: Mapping[str, str | None]) -> list[Transition]:
    """What to send: conditions on now that were not notified as on (started), and
    conditions notified as on that are now off (cleared). ``notified`` maps each condition
    last notified as on to its message; conditions absent from ``now_on`` are unknown this
    time and change nothing."""
    found: list[Transition] = []
    for condition in CONDITIONS:
        if condition not in now_on:
            continue
        message = now_on[condition]
        if message is not None and condition not in notified:
            found.append(Transition(condition, "started", message))
        elif message is None and condition in notified:
            found.append(Transition(condition, "cleared", notified[condition]))
    return found


EVERY_CHANNEL = ""
"""The channel of states recorded before channels were told apart: it stood for each one."""


def channel_transitions(
    notified: Mapping[str, Mapping[str, str]],
    channels: Sequence[str],
    now_on: Mapping[str, str | None],
) -> list[tuple[str, Transition]]:
    """What to send to each of ``channels``: its own :func:`transitions` against what it
    was last told (``notified``: channel -> condition -> message). A channel that missed a
    start gets it at the next check while the condition holds, and no clearing if it
    cleared first; the other channels are not sent it twice."""
    return [
        (channel, found)
        for channel in channels
        for found in transitions(notified.get(channel, {}), now_on)
    ]


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min"
