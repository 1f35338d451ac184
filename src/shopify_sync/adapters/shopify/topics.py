"""Adapter: webhook topics between the REST form we use (``orders/create``) and GraphQL's enum."""

from __future__ import annotations

_KNOWN = (
    "app/uninstalled",
    "bulk_operations/finish",
    "inventory_items/create",
    "inventory_items/delete",
    "inventory_items/update",
    "inventory_levels/connect",
    "inventory_levels/disconnect",
    "inventory_levels/update",
    "orders/cancelled",
    "orders/create",
    "orders/edited",
    "orders/fulfilled",
    "orders/paid",
    "orders/partially_fulfilled",
    "orders/updated",
    "products/create",
    "products/delete",
    "products/update",
)
_FROM_ENUM = {topic.replace("/", "_").upper(): topic for topic in _KNOWN}


def topic_enum(topic: str) -> str:
    """``inventory_levels/update`` -> ``INVENTORY_LEVELS_UPDATE``."""
    return topic.replace("/", "_").upper()


def topic_rest(enum_value: str) -> str:
    """
    ``INVENTORY_LEVELS_UPDATE`` -> ``inventory_levels/update``.

    The enum loses where the slash was; known topics are looked up, and for others the
    last word is taken as the action (right for the usual ``resource/verb`` topics).
    """
    known = _FROM_ENUM.get(enum_value)
    if known is not None:
        return known
    resource, _, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}" if resource else action
