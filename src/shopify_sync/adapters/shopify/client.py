"""Adapter: Shopify Admin API client implementing the ``StoreClient`` port over GraphQL.

Builds version-aware documents (:mod:`.documents`), sends them through the paced and
retrying :class:`~.transport.GraphQLTransport`, and maps answers to domain values
(:mod:`.payloads`). Only :class:`~shopify_sync.errors.StoreError` subclasses leave it.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import SecretStr

from shopify_sync.adapters.shopify import documents
from shopify_sync.adapters.shopify.auth import AccessTokens, StaticToken
from shopify_sync.adapters.shopify.bulk import DEFAULT_BULK_POLLING, BulkPolling, BulkQuery
from shopify_sync.adapters.shopify.catalogue import (
    access_scopes,
    created_webhook,
    delete_errors,
    inventory_items_of,
    location_of,
    location_page,
    product_variants,
    variant_page,
    variant_row,
    webhook_page,
)
from shopify_sync.adapters.shopify.documents import MAX_IDS_PER_CALL, PRODUCTS_PER_TITLE_SEARCH
from shopify_sync.adapters.shopify.envelope import MalformedResponse, UserError
from shopify_sync.adapters.shopify.pacing import (
    DEFAULT_OUTAGE_PAUSE_S,
    Backoff,
    CostLimiter,
    OutagePause,
)
from shopify_sync.adapters.shopify.payloads import (
    CONCURRENT_REQUEST,
    KEY_MISMATCH,
    level_reads,
    snapshot_row,
    write_result,
)
from shopify_sync.adapters.shopify.transport import GraphQLTransport
from shopify_sync.adapters.shopify.version import features_for
from shopify_sync.domain.model import (
    AppAccess,
    LevelRead,
    Location,
    SetQuantities,
    Variant,
    WebhookSubscription,
    WriteResult,
)
from shopify_sync.errors import ConfigError, OutcomeUnknown, StoreRejected, StoreUnavailable
from shopify_sync.services.ports import Clock, Metrics
from shopify_sync.types import InventoryItemId, LocationId, VariantId

_log = structlog.get_logger(__name__)
_T = TypeVar("_T")

DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_CONCURRENT_REQUEST_ATTEMPTS = 5
"""How often a write is resent while Shopify reports the same key still in progress."""


@contextmanager
def _parsing(*, write: bool = False) -> Iterator[None]:
    # A 200 answer we cannot read: for a write it may still have been applied.
    try:
        yield
    except MalformedResponse as exc:
        if write:
            raise OutcomeUnknown(f"unreadable answer from Shopify: {exc}") from exc
        raise StoreUnavailable(f"unreadable answer from Shopify: {exc}") from exc


def _batches(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), MAX_IDS_PER_CALL):
        yield values[start : start + MAX_IDS_PER_CALL]


def _refusal(what: str, errors: Sequence[UserError]) -> StoreRejected:
    text = "; ".join(f"{'.'.join(e.field or ())}: {e.message}".lstrip(": ") for e in errors)
    return StoreRejected(f"Shopify refused to {what}: {text}", body_excerpt=text[:300])


class ShopifyClient:
    """
    The ``StoreClient`` port on Shopify's GraphQL Admin API, for one shop and one location.

    Args:
        admin_url: the shop's base URL, e.g. ``https://example.myshopify.com``.
        api_version: ``YYYY-MM`` (documents adapt: ``changeFromQuantity`` and
            ``@idempotent`` from 2026-01, ``compareQuantity`` before).
        access_token: the Admin API token (static), or where tokens come from (the client
            credentials grant); sent only to the GraphQL endpoint, never logged.
        location_id: the location whose ``available`` quantities we sync (``None`` for a
            command that only lists locations or manages webhooks: calls about levels then
            raise :class:`ConfigError` naming ``SHOPIFY_LOCATION_ID``).
        http: the shared connection pool (timeouts are configured there).
        clock: time source; every wait goes through ``clock.sleep``.
        max_attempts: sends per call before giving up (throttling, 429, 5xx, timeouts).
        rng: source of backoff jitter.
        bulk_polling: how the snapshot's bulk operation is polled.
        concurrent_request_attempts: resends of a write while its key is still in progress.
        outage_pause_s: how long every call pauses after one failed through all its
            attempts (``OutagePause``; 0 turns it off).
        metrics: where calls, their cost, waits and the outage pause are counted.
    """

    def __init__(
        self,
        admin_url: str,
        api_version: str,
        access_token: str | SecretStr | AccessTokens,
        location_id: LocationId | None,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        rng: random.Random | None = None,
        bulk_polling: BulkPolling = DEFAULT_BULK_POLLING,
        concurrent_request_attempts: int = DEFAULT_CONCURRENT_REQUEST_ATTEMPTS,
        outage_pause_s: float = DEFAULT_OUTAGE_PAUSE_S,
        metrics: Metrics | None = None,
    ) -> None:
        self._features = features_for(api_version)
        self._location_id = location_id
        self._http = http
        self._clock = clock
        self._backoff = Backoff(rng if rng is not None else random.Random())
        self._bulk_polling = bulk_polling
        self._concurrent_attempts = max(1, concurrent_request_attempts)
        self._metrics = metrics
        tokens = (
            StaticToken(access_token, urlsplit(admin_url).netloc)
            if isinstance(access_token, str | SecretStr)
            else access_token
        )
        self._transport = GraphQLTransport(
            f"{admin_url.rstrip('/')}/admin/api/{api_version}/graphql.json",
            tokens,
            http=http,
            clock=clock,
            limiter=CostLimiter(clock),
            backoff=self._backoff,
            max_attempts=max_attempts,
            outage=OutagePause(clock, outage_pause_s, metrics=metrics),
            metrics=metrics,
        )

    def __repr__(self) -> str:
        return f"ShopifyClient(version={self._features.version!r}, location={self._location_id})"

    @property
    def _location(self) -> LocationId:
        if self._location_id is None:
            raise ConfigError("SHOPIFY_LOCATION_ID", "is required but not set")
        return self._location_id

    async def read_levels(
        self, items: Sequence[InventoryItemId]
    ) -> dict[InventoryItemId, LevelRead]:
        """Read ``available`` for many items, 250 per call; every distinct id gets an entry."""
        result: dict[InventoryItemId, LevelRead] = {}
        for batch in _batches(list(dict.fromkeys(items))):
            data = await self._transport.execute(documents.read_levels(batch, self._location))
            with _parsing():
                result.update(level_reads(data, batch, set_anywhere=self._features.set_anywhere))
        return result

    def _bulk(self) -> BulkQuery:
        return BulkQuery(
            self._transport,
            http=self._http,
            clock=self._clock,
            features=self._features,
            polling=self._bulk_polling,
        )

    def snapshot_levels(self) -> AsyncIterator[LevelRead]:
        """Stream every inventory item's level at the location from one bulk operation."""
        parse = functools.partial(snapshot_row, set_anywhere=self._features.set_anywhere)
        return self._bulk().rows(documents.snapshot_query(self._location), parse)

    def catalogue_variants(self) -> AsyncIterator[Variant]:
        """Stream every variant of the store (id, SKU, item, tracked) from one bulk operation."""
        return self._bulk().rows(documents.VARIANTS_BULK_QUERY, variant_row)

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        """
        Send one compare-and-set write and map Shopify's definite answer.

        The same *write* always produces the same request bytes and idempotency key, so a
        resend after :class:`OutcomeUnknown` replays Shopify's first answer. Before 2026-01
        Shopify has no ``@idempotent``: there a resend of a write that was applied comes back
        STALE (the CAS no longer matches), which the caller cannot tell from a real race.

        Raises:
            OutcomeUnknown: the write may have been applied but no definite answer came.
            StoreRejected: the write is malformed (no entries, over 250, an item twice) or
                its key was already used with other variables (our bug).
        """
        _check_write(write)
        operation = documents.set_quantities(self._features, write, self._location)
        sent = documents.canonical_entries(write)
        for attempt in range(1, self._concurrent_attempts + 1):
            data = await self._transport.execute(operation)
            with _parsing(write=True):
                result = write_result(data, sent)
            codes = {error.code for error in result.errors}
            if KEY_MISMATCH in codes:
                raise StoreRejected(
                    "SetAvailable: idempotency key reused with different variables",
                    body_excerpt=write.idempotency_key,
                )
            if CONCURRENT_REQUEST not in codes:
                return result
            wait_s = self._backoff.delay(attempt - 1)
            _log.warning(
                "shopify_write_in_progress",
                idempotency_key=write.idempotency_key,
                attempt=attempt,
                wait_s=round(wait_s, 3),
            )
            if attempt < self._concurrent_attempts:
                await self._clock.sleep(wait_s)
        raise OutcomeUnknown(
            f"SetAvailable: key {write.idempotency_key} still in progress at Shopify; resend later"
        )

    async def resolve_inventory_items(
        self, variants: Sequence[VariantId]
    ) -> dict[VariantId, InventoryItemId]:
        """Map variant ids to inventory item ids, 250 per call; unknown variants are left out."""
        result: dict[VariantId, InventoryItemId] = {}
        for batch in _batches(list(dict.fromkeys(variants))):
            data = await self._transport.execute(documents.resolve_inventory_items(batch))
            with _parsing():
                result.update(inventory_items_of(data))
        return result

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        """Search variants with Shopify's query syntax, following pages up to *limit*."""
        found: list[Variant] = []
        after: str | None = None
        while len(found) < limit:
            first = min(limit - len(found), MAX_IDS_PER_CALL)
            data = await self._transport.execute(documents.find_variants(query, first, after))
            with _parsing():
                page, after = variant_page(data)
            found.extend(page)
            if after is None:
                break
        return found[:limit]

    async def find_product_variants(self, query: str, *, limit: int = 10) -> list[Variant]:
        """The variants of the first *limit* products matching Shopify's product search."""
        data = await self._transport.execute(
            documents.find_product_variants(query, min(limit, PRODUCTS_PER_TITLE_SEARCH))
        )
        with _parsing():
            return product_variants(data)

    async def location(self, location_id: LocationId) -> Location | None:
        """One location by id, inactive ones included; None when the store has no such one."""
        data = await self._transport.execute(documents.location(location_id))
        with _parsing():
            return location_of(data)

    async def app_access(self) -> AppAccess:
        """The scopes granted to our app, and the API version that answered."""
        data = await self._transport.execute(documents.app_access())
        with _parsing():
            scopes = access_scopes(data)
        return AppAccess(scopes, self._transport.answered_version)

    async def locations(self) -> list[Location]:
        """Every location of the store, inactive ones included."""
        found: list[Location] = []
        after: str | None = None
        while True:
            data = await self._transport.execute(documents.locations(MAX_IDS_PER_CALL, after))
            with _parsing():
                page, after = location_page(data)
            found.extend(page)
            if after is None:
                return found

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """Our app's webhook subscriptions."""
        found: list[WebhookSubscription] = []
        after: str | None = None
        while True:
            operation = documents.webhook_subscriptions(self._features, MAX_IDS_PER_CALL, after)
            data = await self._transport.execute(operation)
            with _parsing():
                page, after = webhook_page(data)
            found.extend(page)
            if after is None:
                return found

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        """
        Subscribe *uri* to *topic* (REST form, e.g. ``orders/create``), JSON payloads.

        Raises:
            StoreRejected: Shopify refused (unknown topic, bad address, already subscribed).
        """
        operation = documents.create_webhook_subscription(self._features, topic, uri)
        data = await self._transport.execute(operation)
        with _parsing(write=True):
            answer = created_webhook(data)
        if isinstance(answer, WebhookSubscription):
            return answer
        raise _refusal("create the webhook subscription", answer)

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """
        Remove one subscription.

        Raises:
            StoreRejected: Shopify refused (e.g. no such subscription).
        """
        operation = documents.delete_webhook_subscription(subscription_id)
        data = await self._transport.execute(operation)
        with _parsing(write=True):
            errors = delete_errors(data)
        if errors:
            raise _refusal("delete the webhook subscription", errors)


def _check_write(write: SetQuantities) -> None:
    items = [entry.inventory_item_id for entry in write.entries]
    if not items or len(items) > MAX_IDS_PER_CALL:
        raise StoreRejected(f"SetAvailable: 1 to {MAX_IDS_PER_CALL} entries, not {len(items)}")
    if len(set(items)) != len(items):
        raise StoreRejected("SetAvailable: an inventory item appears twice in one write")
    if not write.idempotency_key.strip():
        raise StoreRejected("SetAvailable: the idempotency key is empty")
