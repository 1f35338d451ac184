"""Shopify-looking numeric ids and global ids (`gid://shopify/InventoryItem/123`)."""

from __future__ import annotations

import re

# First id and stride per kind. Inventory item, order and line item ids exceed 2**53 on purpose,
# like real ones, so a client that parses JSON numbers as floats is caught.
ID_BASES: dict[str, tuple[int, int]] = {
    "Location": (74_561_437_719, 97),
    "Product": (8_829_331_669_011, 131),
    "ProductVariant": (46_921_388_163_091, 137),
    "InventoryItem": (271_878_346_596_884_015, 149),
    "InventoryLevel": (548_380_009_017, 151),
    "InventoryAdjustmentGroup": (34_590_174_218_771, 157),
    "Order": (820_982_911_946_154_508, 163),
    "LineItem": (487_817_672_276_298_554, 167),
    "WebhookSubscription": (1_387_412_219_393, 173),
    "BulkOperation": (5_571_339_272_211, 179),
    "Job": (77_123_401_873, 181),
}

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?$")


class IdAllocator:
    """Hands out unique, increasing ids per kind; its counters are part of the saved state."""

    def __init__(self, counters: dict[str, int] | None = None) -> None:
        self.counters: dict[str, int] = dict(counters or {})

    def next(self, kind: str) -> int:
        base, stride = ID_BASES[kind]
        count = self.counters.get(kind, 0)
        self.counters[kind] = count + 1
        return base + count * stride


def gid(kind: str, number: int) -> str:
    """Return the global id of a resource."""
    return f"gid://shopify/{kind}/{number}"


def level_gid(level_id: int, item_id: int) -> str:
    """Return an InventoryLevel global id, which carries the item id as a query string."""
    return f"gid://shopify/InventoryLevel/{level_id}?inventory_item_id={item_id}"


def parse_gid(value: str, kind: str) -> int | None:
    """Return the numeric id of a global id of the given kind, or None when it is not one."""
    match = _GID.match(value)
    if match is None or match.group("kind") != kind:
        return None
    return int(match.group("id"))


def gid_kind(value: str) -> tuple[str, int] | None:
    """Split any Shopify global id into (kind, number), or None."""
    match = _GID.match(value)
    if match is None:
        return None
    return match.group("kind"), int(match.group("id"))
