"""What the web routes share: the container and the worker, built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from shopify_sync.bootstrap import Container
from shopify_sync.entrypoints.worker import Worker


@dataclass
class AppState:
    """Reached by routes through ``request.app.state.shopify_sync``."""

    container: Container
    worker: Worker
    shopify_status: tuple[float, str] | None = None


def state_of(request: Request) -> AppState:
    """The app's state (built in the lifespan)."""
    state: AppState = request.app.state.shopify_sync
    return state
