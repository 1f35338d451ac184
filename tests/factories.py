"""Test data with unique ids."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION
from shopify_sync.domain.model import ProductStock, PulledChange, PushStart
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


def push_start(
    pid: str,
    base: int | None,
    quantity: int,
    expected: int,
    pool: int,
    *,
    buffer: int | None = None,
) -> PushStart:
    """A write about to start for a split product without buffer or cap, whose row is as
    the migration leaves it (``buffer=0``: as a first sync does): its own policy ``split``
    once it has a base."""
    own = (None, None, None) if base is None else ("split", buffer, None)
    return PushStart(ProductId(pid), base, quantity, expected, pool, DEFAULT_ALLOCATION, own)


def pulled(
    pid: str,
    base: int | None,
    delta: int,
    new_base: int,
    seen_at: datetime | None,
    reference: str | None,
) -> PulledChange:
    """Shopify's change taken into a split product's row as the migration leaves it (its
    own policy ``split`` once it has a base)."""
    return PulledChange(
        ProductId(pid), base, delta, new_base, seen_at, reference,
        expected_policy=None if base is None else "split",
    )  # fmt: skip
