"""Adapter: Shopify global ids (``gid://shopify/Kind/123``) to and from our numeric ids."""

from __future__ import annotations

from typing import Literal

GidKind = Literal["InventoryItem", "Location", "ProductVariant", "BulkOperation"]


def to_gid(kind: GidKind, number: int) -> str:
    """Build ``gid://shopify/{kind}/{number}`` (never parse level GIDs: they are not item ids)."""
    return f"gid://shopify/{kind}/{number}"


def from_gid(kind: GidKind, gid: str) -> int:
    """
    Return the number of a ``gid://shopify/{kind}/{n}`` id.

    Raises:
        ValueError: *gid* is not an id of that kind.
    """
    prefix = f"gid://shopify/{kind}/"
    if not gid.startswith(prefix):
        raise ValueError(f"not a {kind} id: {gid!r}")
    number = gid[len(prefix) :].split("?", 1)[0]
    if not number.isdigit():
        raise ValueError(f"not a {kind} id: {gid!r}")
    return int(number)
