"""What happened in the simulated shop; the webhook hub turns these into deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopify_sync.simulator.model import Level, Order


@dataclass(frozen=True, slots=True)
class AvailableChanged:
    """The `available` quantity of a level changed (fires `inventory_levels/update`)."""

    level: Level
    available: int
    at: int


@dataclass(frozen=True, slots=True)
class LevelConnected:
    """An item was stocked at a location (fires `inventory_levels/connect`)."""

    level: Level
    at: int


@dataclass(frozen=True, slots=True)
class OrderCreated:
    """An order was placed (fires `orders/create`)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """An order was cancelled (fires `orders/cancelled`)."""

    order: Order


@dataclass(frozen=True, slots=True)
class BulkOperationFinished:
    """A bulk operation reached a final state (fires `bulk_operations/finish`)."""

    payload: dict[str, Any]


Event = AvailableChanged | LevelConnected | OrderCreated | OrderCancelled | BulkOperationFinished
