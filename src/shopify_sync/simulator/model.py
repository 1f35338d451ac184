"""The simulated shop's records: compact `__slots__` dataclasses keyed by numeric id in `Store`.

Timestamps are whole epoch seconds (Shopify's one-second resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ON_HAND_PARTS: tuple[str, ...] = (
    "available",
    "committed",
    "reserved",
    "damaged",
    "quality_control",
    "safety_stock",
)
"""Quantity states that count in `on_hand`."""

QUANTITY_NAMES: tuple[str, ...] = (*ON_HAND_PARTS, "incoming", "on_hand")
"""Names accepted by `InventoryLevel.quantities(names:)`."""


@dataclass(slots=True)
class Level:
    """One inventory item stocked at one location (an InventoryLevel)."""

    id: int
    item_id: int
    location_id: int
    available: int = 0
    committed: int = 0
    reserved: int = 0
    damaged: int = 0
    quality_control: int = 0
    safety_stock: int = 0
    incoming: int = 0
    active: bool = True
    created_at: int = 0
    updated_at: int = 0

    @property
    def on_hand(self) -> int:
        return (
            self.available
            + self.committed
            + self.reserved
            + self.damaged
            + self.quality_control
            + self.safety_stock
        )

    def quantity(self, name: str) -> int | None:
        """Return the named quantity, or None for an unknown name."""
        if name == "on_hand":
            return self.on_hand
        if name in QUANTITY_NAMES:
            value: int = getattr(self, name)
            return value
        return None


@dataclass(slots=True)
class Location:
    """A place that stocks inventory."""

    id: int
    name: str
    created_at: int
    updated_at: int
    active: bool = True
    address1: str = "150 Elgin Street"
    city: str = "Ottawa"
    province: str = "Ontario"
    province_code: str = "ON"
    country_code: str = "CA"
    zip: str = "K2P 1L4"
    levels: dict[int, Level] = field(default_factory=dict)
    """Levels at this location keyed by inventory item id."""


@dataclass(slots=True)
class InventoryItem:
    """The stock-keeping side of a variant (1:1 with `Variant`)."""

    id: int
    variant_id: int
    sku: str | None
    created_at: int
    updated_at: int
    tracked: bool = True
    levels: dict[int, Level] = field(default_factory=dict)
    """Levels of this item keyed by location id."""


@dataclass(slots=True)
class Variant:
    """A product variant."""

    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    title: str
    price: str
    position: int
    created_at: int
    updated_at: int
    inventory_policy: str = "DENY"
    barcode: str | None = None


@dataclass(slots=True)
class Product:
    """A product and the ids of its variants."""

    id: int
    title: str
    handle: str
    created_at: int
    updated_at: int
    vendor: str = "Simulator"
    product_type: str = ""
    status: str = "ACTIVE"
    variant_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Change:
    """One quantity change inside an adjustment group."""

    name: str
    delta: int
    quantity_after: int
    item_id: int
    location_id: int
    ledger_document_uri: str | None = None


@dataclass(frozen=True, slots=True)
class AdjustmentGroup:
    """An entry of the inventory history: who changed what, why, with which reference."""

    id: int
    created_at: int
    reason: str
    reference_document_uri: str | None
    source: str
    """`app` (API call), `merchant` (admin edit), `order`, `cancel`."""
    changes: tuple[Change, ...]


@dataclass(slots=True)
class LineItem:
    """A line of an order; `location_id` is where the units were claimed (None when bypassed)."""

    id: int
    variant_id: int | None
    product_id: int | None
    sku: str | None
    title: str
    variant_title: str | None
    quantity: int
    price: str
    location_id: int | None = None
    restocked: bool = False


@dataclass(slots=True)
class Order:
    """An order placed through `orderCreate` or the control API."""

    id: int
    number: int
    created_at: int
    updated_at: int
    line_items: list[LineItem]
    email: str | None = None
    test: bool = False
    financial_status: str = "paid"
    inventory_behaviour: str = "BYPASS"
    location_id: int | None = None
    cancelled_at: int | None = None
    cancel_reason: str | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass(slots=True)
class Subscription:
    """A webhook subscription; `topic` in REST form (`inventory_levels/update`)."""

    id: int
    topic: str
    address: str
    api_version: str
    created_at: int
    updated_at: int
    format: str = "json"
    include_fields: list[str] = field(default_factory=list)
    metafield_namespaces: list[str] = field(default_factory=list)
    name: str | None = None
    filter: str | None = None
