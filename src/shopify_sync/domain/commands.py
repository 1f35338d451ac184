"""Commands: what an entrypoint asks the service layer to do (imperative, immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shopify_sync.types import InventoryItemId, LocationId, ProductId, VariantId


@dataclass(frozen=True, slots=True)
class SyncProduct:
    """Merge one product with Shopify and push the result now."""

    product_id: ProductId
    source: str = "api:sync"


@dataclass(frozen=True, slots=True)
class ReconcileAll:
    """Merge every enabled, linked product; with ``dry_run`` only report what would change."""

    dry_run: bool = False
    source: str = "reconcile"


@dataclass(frozen=True, slots=True)
class WebhookMeta:
    """The delivery headers that identify a webhook event."""

    event_id: str
    webhook_id: str | None
    topic: str
    shop_domain: str | None
    triggered_at: datetime | None
    api_version: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyInventoryLevel:
    """Shopify reports an item's ``available`` at a location (``inventory_levels/update``)."""

    meta: WebhookMeta
    inventory_item_id: InventoryItemId
    location_id: LocationId
    available: int | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of a Shopify order, as far as stock is concerned."""

    line_item_id: int
    variant_id: VariantId | None
    sku: str | None
    quantity: int
    title: str = ""


@dataclass(frozen=True, slots=True)
class RecordOrder:
    """Shopify reports a new order (``orders/create``): log its sales, re-read its items."""

    meta: WebhookMeta
    order_id: int
    name: str
    test: bool
    lines: tuple[OrderLine, ...] = field(default_factory=tuple)
