"""Test data with unique ids."""

from __future__ import annotations

import itertools
import uuid

from shopify_sync.domain.model import ProductStock
from shopify_sync.types import InventoryItemId, ProductId

_items = itertools.count(30_322_695_000_001)

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
"""A database nobody serves: nothing listens on port 1, so connecting fails at once, with
no driver thread left behind."""


def random_product_id() -> ProductId:
    """A product id no other test uses."""
    return ProductId(f"prod_{uuid.uuid4().hex[:10]}")


def random_item_id() -> InventoryItemId:
    """A Shopify-sized inventory item id no other test uses."""
    return InventoryItemId(next(_items))


def stock(ours: int, base: int | None, **kwargs: object) -> ProductStock:
    """A product's stock with fresh ids."""
    return ProductStock(
        product_id=random_product_id(),
        inventory_item_id=random_item_id(),
        ours=ours,
        base=base,
        **kwargs,  # type: ignore[arg-type]  # seen_at only
    )
