"""Shared identifier types and aliases (pure)."""

from __future__ import annotations

from typing import Literal, NewType

ProductId = NewType("ProductId", str)
Sku = NewType("Sku", str)
InventoryItemId = NewType("InventoryItemId", int)
"""Shopify's numeric inventory item id (the N in ``gid://shopify/InventoryItem/N``)."""
VariantId = NewType("VariantId", int)
"""Shopify's numeric product variant id."""
LocationId = NewType("LocationId", int)
"""Shopify's numeric location id."""

Direction = Literal["inbound", "outbound", "local"]
StockField = Literal["b2b_stock", "b2c_stock"]
InitialSource = Literal["b2b", "shopify"]
"""Who wins when a product is synced for the first time (no agreed base yet)."""

MAX_QUANTITY = 1_000_000_000
"""The largest stock figure we write or let an operator set (half Shopify's own limit,
so that a merge of two such figures still fits Shopify and our 32-bit columns)."""
SHOPIFY_QUANTITY_LIMIT = 2_000_000_000
"""Shopify refuses a quantity beyond +-this (INVALID_QUANTITY_TOO_HIGH / _LOW), so no
genuine webhook carries one."""
MAX_SHOPIFY_ID = 2**63 - 1
"""Shopify's numeric ids are positive 64-bit integers (our columns are BIGINT)."""
