"""What the web routes share: the container and the worker, built in the lifespan."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Request

from shopify_sync.bootstrap import Container
from shopify_sync.entrypoints.worker import Worker
from shopify_sync.errors import StoreAuthFailed, StoreError

SHOPIFY_PING_TTL_S = 60.0


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


async def shopify_status(state: AppState) -> str:
    """Shopify's reachability, checked at most once a minute (a cheap locations query):
    ``ok``, ``auth failing: ...`` (our credentials refused) or ``error: ...``."""
    now = time.monotonic()
    if state.shopify_status and now - state.shopify_status[0] < SHOPIFY_PING_TTL_S:
        return state.shopify_status[1]
    try:
        await state.container.store.locations()
        status = "ok"
    except StoreAuthFailed as exc:
        status = f"auth failing: {exc}"
    except StoreError as exc:
        status = f"error: {exc}"
    state.shopify_status = (now, status)
    return status
