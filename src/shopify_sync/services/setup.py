"""Use cases: set the store up for the service: its locations, and our webhook subscriptions.

Replaces the seed's curl calls: ``shopify-sync locations`` finds ``SHOPIFY_LOCATION_ID``, and
``shopify-sync webhooks register|check [--repair]`` keeps exactly one subscription per topic
pointing at the service's public address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import structlog

from shopify_sync.domain.address import public_base_url
from shopify_sync.domain.model import Location, WebhookSubscription
from shopify_sync.errors import InvalidRequest
from shopify_sync.services.handlers import INVENTORY_TOPIC, ORDERS_TOPIC, under_lease
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWorkFactory
from shopify_sync.types import LocationId

log = structlog.get_logger(__name__)

WEBHOOKS_LEASE = "webhooks"
"""The lease that lets one process at a time check and repair our subscriptions."""

WEBHOOK_PATHS: Mapping[str, str] = {
    INVENTORY_TOPIC: "/webhooks/inventory-update",
    ORDERS_TOPIC: "/webhooks/orders-create",
}
"""Each topic we subscribe to, and the path of the service that receives it."""


async def list_locations(store: StoreClient) -> list[Location]:
    """Every location of the store, active ones first, then by name."""
    return sorted(await store.locations(), key=lambda loc: (not loc.active, loc.name.lower()))


async def location_problem(store: StoreClient, location_id: LocationId) -> str | None:
    """What is wrong with syncing ``location_id`` (the store has no such location, or it is
    inactive), or None when it can be synced. A wrong location is a configuration error:
    every product would read as "not stocked there", so it must stop us before any sync.
    """
    found = await store.location(location_id)
    if found is None:
        return f"the store has no location with id {location_id}"
    if not found.active:
        return f"location {location_id} ({found.name}) is inactive in the store"
    return None


def webhook_targets(address: str) -> dict[str, str]:
    """The URI each topic must be delivered to, under the service's public ``address``.

    Raises:
        InvalidRequest: the address is not an absolute http(s) URL without query; Shopify
            delivers only to HTTPS, so plain http is accepted for local hosts only.
    """
    try:
        address = public_base_url(address)
    except ValueError as exc:
        raise InvalidRequest(f"--address {address.strip()!r}: expected {exc}") from None
    return {topic: address + path for topic, path in WEBHOOK_PATHS.items()}


@dataclass(frozen=True, slots=True)
class WebhookCheck:
    """Our subscriptions compared with what the service needs at ``address``.

    ``missing`` are (topic, uri) pairs without a subscription; ``wrong`` deliver one of our
    topics elsewhere (e.g. an old address); ``extra`` point at our address but are not
    needed (a duplicate, another topic); ``other`` are left alone. ``created`` and
    ``deleted`` say what a register or repair changed.
    """

    address: str
    ok: tuple[WebhookSubscription, ...] = ()
    missing: tuple[tuple[str, str], ...] = ()
    wrong: tuple[WebhookSubscription, ...] = ()
    extra: tuple[WebhookSubscription, ...] = ()
    other: tuple[WebhookSubscription, ...] = ()
    created: tuple[WebhookSubscription, ...] = field(default_factory=tuple)
    deleted: tuple[WebhookSubscription, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        """True when every topic has exactly one subscription, at the right address."""
        return not (self.missing or self.wrong or self.extra)


def compare_webhooks(existing: list[WebhookSubscription], address: str) -> WebhookCheck:
    """Sort the store's subscriptions into ok, wrong, extra and other; list what is missing."""
    targets = webhook_targets(address)
    address = address.strip().rstrip("/")
    host = urlsplit(address).netloc.lower()
    ok: list[WebhookSubscription] = []
    wrong: list[WebhookSubscription] = []
    extra: list[WebhookSubscription] = []
    other: list[WebhookSubscription] = []
    for sub in sorted(existing, key=lambda s: (s.topic, s.uri, s.id)):
        wanted = targets.get(sub.topic)
        if wanted is not None and sub.uri == wanted:
            (extra if any(s.topic == sub.topic for s in ok) else ok).append(sub)
        elif urlsplit(sub.uri).netloc.lower() == host:
            extra.append(sub)
        elif wanted is not None:
            wrong.append(sub)
        else:
            other.append(sub)
    covered = {s.topic for s in ok}
    missing = tuple((t, uri) for t, uri in targets.items() if t not in covered)
    return WebhookCheck(
        address,
        tuple(ok),
        missing,
        tuple(wrong),
        tuple(extra),
        tuple(other),
    )


async def check_webhooks(store: StoreClient, address: str) -> WebhookCheck:
    """Compare our subscriptions with what the service at ``address`` needs; change nothing."""
    return compare_webhooks(await store.webhook_subscriptions(), address)


async def register_webhooks(
    store: StoreClient, address: str, *, repair: bool = False
) -> WebhookCheck:
    """Create the missing subscriptions (idempotent); ``repair`` also removes wrong and extra ones.

    New subscriptions are created before old ones are removed, so no delivery is lost.
    """
    check = await check_webhooks(store, address)
    created = tuple(
        [await store.create_webhook_subscription(topic, uri) for topic, uri in check.missing]
    )
    deleted: list[WebhookSubscription] = []
    if repair:
        for sub in (*check.wrong, *check.extra):
            await store.delete_webhook_subscription(sub.id)
            deleted.append(sub)
    after = compare_webhooks(await store.webhook_subscriptions(), address)
    return WebhookCheck(
        after.address,
        after.ok,
        after.missing,
        after.wrong,
        after.extra,
        after.other,
        created,
        tuple(deleted),
    )


async def scheduled_webhook_check(
    holder: str,
    ttl: timedelta,
    address: str,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    clock: Clock,
) -> WebhookCheck | None:
    """The periodic check of our subscriptions, by one process at a time (a lease in the
    database): a missing one is created again, one delivering elsewhere or a duplicate is
    removed (after the new one exists), and each change is logged. None when another
    process holds the lease.

    Raises:
        StoreError: Shopify could not be asked or refused a change; the next check retries.
    """
    check = await under_lease(
        WEBHOOKS_LEASE,
        holder,
        ttl,
        uow,
        clock,
        lambda: register_webhooks(store, address, repair=True),
    )
    if check is None:
        return None
    for sub in check.created:
        log.warning(
            "webhook subscription created",
            topic=sub.topic,
            address=sub.uri,
            detail="it was missing (never made, or deleted by Shopify after failed deliveries); "
            "a reconcile runs now to catch the deliveries lost meanwhile",
        )
    for sub in check.deleted:
        log.warning(
            "webhook subscription removed",
            topic=sub.topic,
            address=sub.uri,
            detail=f"it delivered elsewhere or twice; {address} receives this topic",
        )
    if not (check.created or check.deleted):
        log.info("webhook subscriptions checked", address=address, healthy=check.healthy)
    return check
