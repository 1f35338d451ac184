"""Commands: what an entrypoint asks the service layer to do (imperative, immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

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


# -- operator commands (CLI and admin page) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkProduct:
    """Link a product to one Shopify variant, named by id or by an exact SKU."""

    product_id: ProductId
    variant_id: VariantId | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class AutoLink:
    """Link every unlinked product to the one tracked Shopify variant with its SKU."""

    dry_run: bool = False


Channel = Literal["b2c", "b2b"]


@dataclass(frozen=True, slots=True)
class Allocate:
    """Set a product's B2C and/or B2B stock, or move units from one channel to the other.

    Either ``b2c`` / ``b2b`` (absolute quantities) or ``move`` units ``to`` a channel.
    ``push`` merges and pushes the product at once; otherwise the pending scan does.
    """

    product_id: ProductId
    b2c: int | None = None
    b2b: int | None = None
    move: int | None = None
    to: Channel | None = None
    push: bool = True
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeAllocation:
    """Change a product's allocation policy, buffer and/or cap (``None``: keep the current
    value, the product's own or else the settings' default); ``clear_cap`` removes the cap.

    Its stocks move as ``domain.allocation.switch`` says (no unit lost or invented), the
    change is logged and Shopify told at the next pass, or at once with ``push``.
    """

    product_id: ProductId
    policy: str | None = None
    buffer: int | None = None
    cap: int | None = None
    clear_cap: bool = False
    reference: str | None = None
    push: bool = True


@dataclass(frozen=True, slots=True)
class SetSyncEnabled:
    """Turn a product's sync on or off; ``push`` syncs it at once when turned on."""

    product_id: ProductId
    enabled: bool
    push: bool = True


@dataclass(frozen=True, slots=True)
class RetryProducts:
    """Forget the failures of one product, of several (``product_ids``), of every parked
    one or of every one in error (``errors``: parked or waiting for a retry), and sync again."""

    product_id: ProductId | None = None
    parked: bool = False
    push: bool = True
    product_ids: tuple[ProductId, ...] = ()
    errors: bool = False


@dataclass(frozen=True, slots=True)
class SetSyncEnabledMany:
    """Turn sync on or off for several products at once; ``push`` syncs them when turned on."""

    product_ids: tuple[ProductId, ...]
    enabled: bool
    push: bool = True


@dataclass(frozen=True, slots=True)
class ImportProducts:
    """Apply a product CSV (all rows or none); ``dry_run`` only reports the diff."""

    text: str
    dry_run: bool = False
    push: bool = True
    reference: str = "csv"
