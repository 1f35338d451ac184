"""The in-memory state of one simulated shop and the primitive operations on it.

Every change of `available` goes through `Store.set_available` so that it is recorded in the
inventory history and announced to listeners (the webhook hub), whoever made it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shopify_sync.simulator.clock import Clock
from shopify_sync.simulator.events import AvailableChanged, Event, LevelConnected
from shopify_sync.simulator.ids import IdAllocator
from shopify_sync.simulator.model import (
    AdjustmentGroup,
    Change,
    InventoryItem,
    Level,
    Location,
    Order,
    Product,
    Subscription,
    Variant,
)

Listener = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class LevelMove:
    """A planned change of one level: add `delta` to quantity `name`."""

    level: Level
    name: str
    delta: int
    ledger_document_uri: str | None = None


class Store:
    """All records of one shop, keyed by numeric id, plus the inventory history."""

    def __init__(self, shop: str, clock: Clock) -> None:
        self.shop = shop
        self.clock = clock
        self.ids = IdAllocator()
        self.locations: dict[int, Location] = {}
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, InventoryItem] = {}
        self.orders: dict[int, Order] = {}
        self.subscriptions: dict[int, Subscription] = {}
        self.history: list[AdjustmentGroup] = []
        self.sku_index: dict[str, list[int]] = {}
        self.next_order_number = 1001
        self.created_at = self.now()
        self._listeners: list[Listener] = []
        self._key_cache: dict[int, list[int]] = {}

    def now(self) -> int:
        """Current wall time in whole seconds (Shopify's resolution)."""
        return int(self.clock.time())

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)

    def sorted_keys(self, mapping: dict[int, Any]) -> list[int]:
        """Ascending keys of one of the store's dicts, cached until its size changes.

        Only for dicts that grow (catalogue, levels, orders); a dict that also loses entries
        must be sorted directly, or the cache evicted as `remove_standalone_variant` does.
        """
        cached = self._key_cache.get(id(mapping))
        if cached is None or len(cached) != len(mapping):
            cached = sorted(mapping)
            self._key_cache[id(mapping)] = cached
        return cached

    def primary_location(self) -> Location | None:
        keys = self.sorted_keys(self.locations)
        return self.locations[keys[0]] if keys else None

    # --- creation -------------------------------------------------------------------------

    def add_location(self, name: str) -> Location:
        now = self.now()
        location = Location(self.ids.next("Location"), name, now, now)
        self.locations[location.id] = location
        return location

    def add_product(
        self, title: str, handle: str | None = None, vendor: str = "Simulator"
    ) -> Product:
        now = self.now()
        product_id = self.ids.next("Product")
        slug = handle or "-".join(title.lower().split()) or f"product-{product_id}"
        product = Product(product_id, title, slug, now, now, vendor=vendor)
        self.products[product.id] = product
        return product

    def add_variant(
        self,
        product: Product,
        sku: str | None,
        *,
        title: str = "Default Title",
        price: str = "10.00",
        tracked: bool = True,
        inventory_policy: str = "DENY",
    ) -> Variant:
        now = self.now()
        variant_id = self.ids.next("ProductVariant")
        item = InventoryItem(self.ids.next("InventoryItem"), variant_id, sku, now, now, tracked)
        variant = Variant(
            variant_id,
            product.id,
            item.id,
            sku,
            title,
            price,
            len(product.variant_ids) + 1,
            now,
            now,
            inventory_policy,
        )
        self.items[item.id] = item
        self.variants[variant.id] = variant
        product.variant_ids.append(variant.id)
        if sku:
            self.sku_index.setdefault(sku, []).append(variant.id)
        return variant

    def remove_standalone_variant(self, product: Product) -> None:
        """Drop the default variant Shopify creates with a product, once real variants come."""
        if len(product.variant_ids) != 1:
            return
        variant = self.variants[product.variant_ids[0]]
        if variant.sku is not None or variant.title != "Default Title":
            return
        item = self.items.pop(variant.inventory_item_id)
        for location_id in item.levels:
            self.locations[location_id].levels.pop(item.id, None)
            self._key_cache.pop(id(self.locations[location_id].levels), None)
        del self.variants[variant.id]
        product.variant_ids.clear()
        self._key_cache.pop(id(self.variants), None)
        self._key_cache.pop(id(self.items), None)

    def stock(self, item: InventoryItem, location: Location, available: int = 0) -> Level:
        """Create (or reactivate) the level of an item at a location, without any event."""
        now = self.now()
        level = item.levels.get(location.id)
        if level is None:
            level = Level(self.ids.next("InventoryLevel"), item.id, location.id)
            level.created_at = now
            item.levels[location.id] = level
            location.levels[item.id] = level
        level.active = True
        level.available = available
        level.updated_at = now
        return level

    def connect(self, item: InventoryItem, location: Location, available: int = 0) -> Level:
        """Stock an item at a location and announce it."""
        level = self.stock(item, location, available)
        self.emit(LevelConnected(level, level.updated_at))
        if available:
            self.emit(AvailableChanged(level, level.available, level.updated_at))
        return level

    # --- quantity changes -----------------------------------------------------------------

    def apply(
        self,
        moves: Iterable[LevelMove],
        *,
        reason: str,
        reference_document_uri: str | None,
        source: str,
    ) -> AdjustmentGroup:
        """Apply quantity moves, record one history entry and announce `available` changes.

        Each level whose `on_hand` moved also gets an `on_hand` change, as in Shopify's
        adjustment groups.
        """
        now = self.now()
        changes: list[Change] = []
        announced: list[tuple[Level, int]] = []
        on_hand_before: dict[int, tuple[Level, int]] = {}
        for move in moves:
            level = move.level
            on_hand_before.setdefault(level.id, (level, level.on_hand))
            setattr(level, move.name, getattr(level, move.name) + move.delta)
            after: int = getattr(level, move.name)
            changes.append(
                Change(
                    move.name,
                    move.delta,
                    after,
                    level.item_id,
                    level.location_id,
                    move.ledger_document_uri,
                )
            )
            if move.delta:
                level.updated_at = now
                if move.name == "available":
                    announced.append((level, after))
                item = self.items.get(level.item_id)
                if item is not None:
                    item.updated_at = now
        for level, before in on_hand_before.values():
            if level.on_hand != before:
                changes.append(
                    Change(
                        "on_hand",
                        level.on_hand - before,
                        level.on_hand,
                        level.item_id,
                        level.location_id,
                    )
                )
        group = AdjustmentGroup(
            self.ids.next("InventoryAdjustmentGroup"),
            now,
            reason,
            reference_document_uri,
            source,
            tuple(changes),
        )
        self.history.append(group)
        for level, available in announced:
            self.emit(AvailableChanged(level, available, now))
        return group
