"""A standalone local Shopify Admin API (GraphQL, legacy REST, webhooks) for tests and demos.

Imports nothing from the rest of `shopify_sync`, so it cannot share the service's bugs.
Build it with `create_app(SimulatorConfig(...))` or run it with the `simulator` CLI command.
"""

from __future__ import annotations

from shopify_sync.simulator.app import create_app
from shopify_sync.simulator.clock import Clock, ManualClock, SystemClock
from shopify_sync.simulator.config import SimulatorConfig

__all__ = ["Clock", "ManualClock", "SimulatorConfig", "SystemClock", "create_app"]
