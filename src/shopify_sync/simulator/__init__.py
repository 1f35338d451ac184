"""A standalone local Shopify Admin API (GraphQL, legacy REST, webhooks) for tests and demos.

Imports nothing from the rest of `shopify_sync`, so it cannot share the service's bugs.
Build it with `create_app(SimulatorConfig(...))` or run it with the `simulator` CLI command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shopify_sync.simulator.clock import Clock, ManualClock, SystemClock
from shopify_sync.simulator.config import SimulatorConfig

if TYPE_CHECKING:
    from shopify_sync.simulator.app import create_app


def __getattr__(name: str) -> Any:
    # The app (GraphQL schemas, Starlette) is imported on first use only: the service's
    # command line registers the simulator's command without paying for it.
    if name == "create_app":
        from shopify_sync.simulator.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Clock", "ManualClock", "SimulatorConfig", "SystemClock", "create_app"]
