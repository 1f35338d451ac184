"""Adapter: the ``StoreClient`` of a command that did not load Shopify's settings.

Commands such as ``products list`` or ``log`` never call Shopify, so they do not require its
settings; should one call it all the same, the call fails with the configuration error that
names what is missing, never with a half-configured request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NoReturn

from shopify_sync.domain.model import (
    AppAccess,
    LevelRead,
    Location,
    SetQuantities,
    Variant,
    WebhookSubscription,
    WriteResult,
)
from shopify_sync.errors import ConfigError
from shopify_sync.types import InventoryItemId, LocationId, VariantId


class UnconfiguredStore:
    """A ``StoreClient`` whose every call raises the :class:`ConfigError` it was given."""

    def __init__(self, error: ConfigError) -> None:
        self._error = error

    def _refuse(self) -> NoReturn:
        raise ConfigError(*self._error.problems[0], *self._error.problems[1:])

    async def read_levels(
        self, items: Sequence[InventoryItemId]
    ) -> dict[InventoryItemId, LevelRead]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    def snapshot_levels(self) -> AsyncIterator[LevelRead]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    def catalogue_variants(self) -> AsyncIterator[Variant]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def resolve_inventory_items(
        self, variants: Sequence[VariantId]
    ) -> dict[VariantId, InventoryItemId]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def app_access(self) -> AppAccess:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def find_product_variants(self, query: str, *, limit: int = 10) -> list[Variant]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def location(self, location_id: LocationId) -> Location | None:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def locations(self) -> list[Location]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        """Refuse: Shopify is not configured."""
        self._refuse()

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Refuse: Shopify is not configured."""
        self._refuse()
