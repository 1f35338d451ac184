"""Maps our errors to HTTP answers, once for the whole web app."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shopify_sync.errors import (
    ConfigError,
    ProductNotSyncable,
    StorageError,
    StorageRejected,
    StoreError,
    UnknownProduct,
    WebhookRejected,
    WebhookTooLarge,
    WebhookUnauthorized,
)

log = structlog.get_logger(__name__)

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ConfigError, 503),
    (WebhookUnauthorized, 401),
    (WebhookTooLarge, 413),
    (WebhookRejected, 400),
    (UnknownProduct, 404),
    (ProductNotSyncable, 409),
    (StoreError, 502),
    (StorageRejected, 400),
    (StorageError, 503),
)


async def _handle(request: Request, exc: Exception) -> Response:
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    log.warning("request refused", path=request.url.path, status=status, error=str(exc))
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)


Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def exception_handlers() -> dict[int | type[Exception], Handler]:
    """Handlers to register on the app: one per error class."""
    return {kind: _handle for kind, _ in _STATUS}
