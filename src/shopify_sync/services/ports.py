"""Ports: the Protocols the use cases need, implemented by the adapters and by test fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from shopify_sync.domain.model import (
    LevelRead,
    Location,
    SetQuantities,
    Variant,
    WebhookSubscription,
    WriteResult,
)
from shopify_sync.types import InventoryItemId, VariantId


class Clock(Protocol):
    """The time source; tests inject a fake one and never sleep."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock advances itself instead."""
        ...


class StoreClient(Protocol):
    """Shopify's Admin API as the sync needs it, at the one configured location.

    Every method raises only :class:`shopify_sync.errors.StoreError` subclasses:
    ``StoreUnavailable`` (and ``OutcomeUnknown`` for a write sent without an answer),
    ``RateLimited`` once pacing and bounded retries are exhausted, ``StoreRejected``.
    """

    async def read_levels(self, items: Sequence[InventoryItemId]) -> dict[InventoryItemId, LevelRead]:
        """Read ``available`` for many items (batched, 250 per call); every id gets an entry."""
        ...

    def snapshot_levels(self) -> AsyncIterator[LevelRead]:
        """Stream every level at the location from one bulk operation, never all in memory."""
        ...

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        """Send one compare-and-set write; resending the same value replays Shopify's answer."""
        ...

    async def resolve_inventory_items(
        self, variants: Sequence[VariantId]
    ) -> dict[VariantId, InventoryItemId]:
        """Map variant ids to their inventory item ids; unknown variants are left out."""
        ...

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        """Search variants with Shopify's query syntax (e.g. ``sku:ABC-1`` or a title word)."""
        ...

    async def locations(self) -> list[Location]:
        """Every location of the store."""
        ...

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """Our app's webhook subscriptions."""
        ...

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        """Subscribe ``uri`` to ``topic`` (REST form, e.g. ``orders/create``)."""
        ...

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Remove one subscription."""
        ...
