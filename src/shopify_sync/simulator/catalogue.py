"""Initial catalogue: generated products (`--products N`) or a seed file (`--seed-file`)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.store import Store


def location_name(index: int) -> str:
    return "Main warehouse" if index == 0 else f"Warehouse {index + 1}"


def generate(store: Store, config: SimulatorConfig) -> None:
    """Create the configured locations and N products with one variant each (SKU-000001 ...).

    Quantities are random in [0, max_initial_quantity], seeded, so two runs start alike.
    """
    locations = [store.add_location(location_name(i)) for i in range(max(config.locations, 1))]
    rng = random.Random(config.seed)
    top = config.max_initial_quantity
    for number in range(1, config.products + 1):
        product = store.add_product(f"Product {number:06d}", handle=f"product-{number:06d}")
        variant = store.add_variant(product, f"SKU-{number:06d}", price=f"{10 + number % 90}.00")
        item = store.items[variant.inventory_item_id]
        for location in locations:
            store.stock(item, location, rng.randint(0, top))


def load_seed_file(store: Store, path: Path) -> None:
    """Load a catalogue JSON file; see docs/simulator.md for its shape.

    Raises:
        ValueError: the file does not describe a catalogue.
    """
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("products", []), list):
        raise ValueError(f"{path}: expected an object with a 'products' list")
    names = data.get("locations") or [location_name(0)]
    by_name = {}
    for name in names:
        existing = next((loc for loc in store.locations.values() if loc.name == name), None)
        by_name[name] = existing or store.add_location(str(name))
    for spec in data.get("products", []):
        product = store.add_product(str(spec["title"]), handle=spec.get("handle"))
        product.vendor = str(spec.get("vendor", product.vendor))
        for vspec in spec.get("variants") or [{}]:
            variant = store.add_variant(
                product,
                vspec.get("sku"),
                title=str(vspec.get("title", "Default Title")),
                price=str(vspec.get("price", "10.00")),
                tracked=bool(vspec.get("tracked", True)),
                inventory_policy=str(vspec.get("inventory_policy", "DENY")).upper(),
            )
            item = store.items[variant.inventory_item_id]
            quantities: dict[str, int] = vspec.get("quantities") or {
                name: int(vspec.get("available", 0)) for name in by_name
            }
            for name, quantity in quantities.items():
                if name not in by_name:
                    raise ValueError(f"{path}: unknown location {name!r} for {variant.sku}")
                store.stock(item, by_name[name], int(quantity))
