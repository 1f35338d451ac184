"""Save and load the whole shop state as JSON (`--state-file`, `/_simulator/state`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shopify_sync.simulator.ids import IdAllocator
from shopify_sync.simulator.model import (
    AdjustmentGroup,
    Change,
    InventoryItem,
    Level,
    LineItem,
    Location,
    Order,
    Product,
    Subscription,
    Variant,
)
from shopify_sync.simulator.store import Store

FORMAT = 1


def dump(store: Store) -> dict[str, Any]:
    """Return the state as plain JSON-ready data."""
    levels = [asdict(level) for item in store.items.values() for level in item.levels.values()]
    locations = []
    for location in store.locations.values():
        row = asdict(location)
        del row["levels"]
        locations.append(row)
    items = []
    for item in store.items.values():
        row = asdict(item)
        del row["levels"]
        items.append(row)
    return {
        "format": FORMAT,
        "shop": store.shop,
        "ids": dict(store.ids.counters),
        "next_order_number": store.next_order_number,
        "locations": locations,
        "products": [asdict(p) for p in store.products.values()],
        "variants": [asdict(v) for v in store.variants.values()],
        "items": items,
        "levels": levels,
        "orders": [asdict(o) for o in store.orders.values()],
        "subscriptions": [asdict(s) for s in store.subscriptions.values()],
        "history": [asdict(g) for g in store.history],
    }


def load(store: Store, data: dict[str, Any]) -> None:
    """Replace the store's records with saved ones (the store keeps its listeners).

    Raises:
        ValueError: the data is not a saved state of a known format.
    """
    if data.get("format") != FORMAT:
        raise ValueError("not a simulator state file (format 1)")
    store.ids = IdAllocator(data["ids"])
    store.next_order_number = int(data["next_order_number"])
    store.locations = {row["id"]: Location(**row) for row in sorted(data["locations"], key=_id)}
    store.products = {row["id"]: Product(**row) for row in sorted(data["products"], key=_id)}
    store.variants = {row["id"]: Variant(**row) for row in sorted(data["variants"], key=_id)}
    store.items = {row["id"]: InventoryItem(**row) for row in sorted(data["items"], key=_id)}
    store.sku_index = {}
    for variant in store.variants.values():
        if variant.sku:
            store.sku_index.setdefault(variant.sku, []).append(variant.id)
    for row in sorted(data["levels"], key=_id):
        level = Level(**row)
        store.items[level.item_id].levels[level.location_id] = level
        store.locations[level.location_id].levels[level.item_id] = level
    store.orders = {}
    for row in sorted(data["orders"], key=_id):
        lines = [LineItem(**line) for line in row.pop("line_items")]
        store.orders[row["id"]] = Order(line_items=lines, **row)
    store.subscriptions = {
        row["id"]: Subscription(**row) for row in sorted(data["subscriptions"], key=_id)
    }
    store.history = [
        AdjustmentGroup(**{**row, "changes": tuple(Change(**change) for change in row["changes"])})
        for row in data["history"]
    ]


def _id(row: dict[str, Any]) -> int:
    value: int = row["id"]
    return value
