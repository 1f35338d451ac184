"""What the ``product_inventory`` adapters share: a row as a ``Product``, the columns every
change of ours writes (who made it, for the audit triggers), and the small expressions the
reads and the compare-and-set writes both use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, false, literal_column, or_

from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.model import Change, Product
from shopify_sync.types import InventoryItemId, ProductId


def product_of(row: Row[Any]) -> Product:
    m = row._mapping
    item = m["shopify_inventory_item_id"]
    return Product(
        product_id=ProductId(m["product_id"]),
        sku=m["sku"],
        title=m["title"],
        b2b_stock=m["b2b_stock"],
        b2c_stock=m["b2c_stock"],
        shopify_variant_id=m["shopify_variant_id"],
        inventory_item_id=None if item is None else InventoryItemId(int(item)),
        sync_enabled=bool(m["sync_enabled"]),
        sync_error=m["sync_error"],
        sync_attempts=m["sync_attempts"],
        next_attempt_at=m["next_attempt_at"],
        last_synced_at=m["last_synced_at"],
        shopify_base=m["shopify_base"],
        shopify_seen_at=m["shopify_seen_at"],
        refresh_requested=bool(m["refresh_requested"]),
        parked_at=m["parked_at"],
        push_key=m["push_key"],
        push_quantity=m["push_quantity"],
        push_expected=m["push_expected"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        allocation_policy=m["allocation_policy"],
        allocation_buffer=m["allocation_buffer"],
        allocation_cap=m["allocation_cap"],
        pool_base=m["pool_base"],
    )


def who(change: Change, now: datetime) -> dict[str, Any]:
    return who_values(change.direction, change.source, change.reference, now)


def who_values(direction: Any, source: Any, reference: Any, now: Any) -> dict[str, Any]:
    return {
        "change_seq": t.c.change_seq + 1,
        "change_direction": direction,
        "change_source": source,
        "change_reference": reference,
        "updated_at": now,
    }


CLEAR_ERROR: dict[str, Any] = {
    "sync_error": None,
    "sync_error_since": None,
    "sync_attempts": 0,
    "next_attempt_at": None,
    "parked_at": None,
}


CHUNK = 500
"""Products per statement where one statement serves many (``IN`` lists, executemany)."""


def newer_seen(seen_at: Any) -> Any:
    """``shopify_seen_at`` moved forward to ``seen_at``, never back."""
    return case(
        (or_(t.c.shopify_seen_at.is_(None), t.c.shopify_seen_at < seen_at), seen_at),
        else_=t.c.shopify_seen_at,
    )


def refresh_after(read_at: datetime | None) -> Any:
    """Clear ``refresh_requested`` unless it was requested after the level was read."""
    if read_at is None:
        return False
    return case((t.c.updated_at > read_at, t.c.refresh_requested), else_=false())


def is_linked() -> Any:
    """Linked to a Shopify variant or inventory item."""
    return or_(
        t.c.shopify_inventory_item_id.is_not(None),
        and_(t.c.shopify_variant_id.is_not(None), t.c.shopify_variant_id != ""),
    )


SHARED: ColumnElement[str] = literal_column("'shared'")


def pool_moves(policy: Any, delta: Any, mirror: Any) -> dict[str, Any]:
    """The stock columns when the pool of ``policy`` moves by ``delta`` (relative, so that
    a B2B write racing ours is never lost): ``b2c_stock`` under ``split``; under ``shared``
    ``b2b_stock``, with ``b2c_stock`` set to ``mirror`` (what Shopify sells)."""
    shared = policy == SHARED
    return {
        "b2b_stock": t.c.b2b_stock + case((shared, delta), else_=0),
        "b2c_stock": case((shared, mirror), else_=t.c.b2c_stock + delta),
    }


def own_allocation_values(policy: Any, buffer: Any, cap: Any) -> dict[str, Any]:
    """The row's own allocation columns set (a product's first agreement writes the
    settings' default into its row; a row with its own gets the same values back)."""
    return {"allocation_policy": policy, "allocation_buffer": buffer, "allocation_cap": cap}
