"""Entrypoint: Shopify's webhook routes.

Order of checks, cheapest and safest first: body size (413), HMAC over the raw body
(401), headers and JSON (400); then one short transaction that de-duplicates and applies.
Re-reads that a webhook asks for run in the background worker, off the request path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shopify_sync.domain.commands import WebhookMeta
from shopify_sync.entrypoints.web.state import AppState, state_of
from shopify_sync.errors import WebhookRejected, WebhookTooLarge
from shopify_sync.services import handlers

INVENTORY_PATH = "/webhooks/inventory-update"
ORDERS_PATH = "/webhooks/orders-create"


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookTooLarge(f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookTooLarge(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise WebhookRejected("empty body")
    return body


async def _receive(
    request: Request,
    topic: str,
    apply: Callable[[AppState, bytes, WebhookMeta], Awaitable[handlers.WebhookOutcome]],
) -> JSONResponse:
    """Size cap, signature, headers, then ``apply``; a signed but unusable body is recorded."""
    state = state_of(request)
    c = state.container
    body = await read_body(request, c.settings.webhook_max_body_bytes)
    c.webhooks.verify(body, request.headers.get("x-shopify-hmac-sha256"))
    meta = c.webhooks.meta(request.headers, topic)
    try:
        outcome = await apply(state, body, meta)
    except WebhookRejected as exc:
        await handlers.record_rejected_webhook(meta, str(exc), c.uow, c.clock)
        raise
    if outcome.refresh:
        state.worker.wake()
    return _answer(outcome)


async def _inventory_level(
    state: AppState, body: bytes, meta: WebhookMeta
) -> handlers.WebhookOutcome:
    c = state.container
    cmd = c.webhooks.inventory_level(meta, body)
    return await handlers.apply_inventory_level(cmd, c.uow, c.clock, c.settings.shopify_location_id)


async def _order(state: AppState, body: bytes, meta: WebhookMeta) -> handlers.WebhookOutcome:
    c = state.container
    return await handlers.record_order(c.webhooks.order(meta, body), c.uow, c.clock)


def register(app: FastAPI) -> None:
    """Add the two webhook routes to ``app``."""

    @app.post(INVENTORY_PATH, tags=["webhooks"])
    async def inventory_update(request: Request) -> JSONResponse:
        """Shopify ``inventory_levels/update``: apply the new ``available`` to ``b2c_stock``."""
        return await _receive(request, handlers.INVENTORY_TOPIC, _inventory_level)

    @app.post(ORDERS_PATH, tags=["webhooks"])
    async def orders_create(request: Request) -> JSONResponse:
        """Shopify ``orders/create``: log the sales and re-read the items (never subtract)."""
        return await _receive(request, handlers.ORDERS_TOPIC, _order)


def _answer(outcome: handlers.WebhookOutcome) -> JSONResponse:
    status = "duplicate" if outcome.duplicate else outcome.status
    return JSONResponse({"status": status, "detail": outcome.detail})
