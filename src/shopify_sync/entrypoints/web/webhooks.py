"""Entrypoint: Shopify's webhook routes.

Order of checks, cheapest and safest first: body size (413), HMAC over the raw body
(401), headers and JSON (400); then one short transaction that de-duplicates and applies,
shared with the deliveries arriving at the same time (``LevelIngest``: group commit).
Re-reads that a webhook asks for run in the background worker, off the request path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync.domain.commands import WebhookMeta
from shopify_sync.entrypoints.web.state import AppState, state_of
from shopify_sync.errors import (
    ShopifySyncError,
    StorageRejected,
    WebhookRejected,
    WebhookTooLarge,
    WebhookUnauthorized,
)
from shopify_sync.services import handlers, webhook_health
from shopify_sync.services.ports import Clock, Metrics
from shopify_sync.types import MAX_SHOPIFY_ID, SHOPIFY_QUANTITY_LIMIT

INVENTORY_PATH = "/webhooks/inventory-update"
ORDERS_PATH = "/webhooks/orders-create"


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    # Only ASCII digits count (str.isdigit takes any script's); a malformed length is
    # the server's to refuse, and the stream below is measured in any case.
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise WebhookTooLarge(f"body of {declared[:20]} bytes is over the {limit}-byte limit")
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
) -> Response:
    """Size cap, signature, headers, then ``apply``; a signed but unusable body is recorded.
    Every answer is counted by outcome (``Metrics.webhook``)."""
    state = state_of(request)
    c = state.container
    try:
        body = await read_body(request, c.settings.webhook_max_body_bytes)
        signature = request.headers.get("x-shopify-hmac-sha256")
        try:
            c.webhooks.verify(body, signature)
        except WebhookUnauthorized:
            await c.refusals.refused(
                webhook_health.SIGNATURE if signature else webhook_health.UNSIGNED
            )
            raise
        meta = c.webhooks.meta(request.headers, topic)
        try:
            outcome = await apply(state, body, meta)
        except (WebhookRejected, StorageRejected) as exc:
            await handlers.record_rejected_webhook(meta, str(exc), c.uow, c.clock)
            raise
    except ShopifySyncError as exc:
        c.metrics.webhook(topic, _refused(exc))
        raise
    _count(c.metrics, topic, outcome, meta, c.clock)
    if outcome.refresh:
        state.worker.wake()
    return _answer(outcome)


def _refused(exc: ShopifySyncError) -> str:
    """The ``outcome`` label of a delivery refused with ``exc``."""
    if isinstance(exc, WebhookTooLarge):
        return "too_large"
    if isinstance(exc, WebhookUnauthorized):
        return "bad_signature"
    if isinstance(exc, WebhookRejected | StorageRejected):
        return "malformed"
    return "unavailable"


def _count(
    metrics: Metrics, topic: str, outcome: handlers.WebhookOutcome, meta: WebhookMeta, clock: Clock
) -> None:
    """Count an answered delivery: applied (with its lag since Shopify's trigger, and the
    products it moved as pulled changes: none for our own write coming back), duplicate,
    stale or ignored."""
    if outcome.duplicate:
        metrics.webhook(topic, "duplicate")
    elif outcome.status == "processed":
        lag_s = None
        if meta.triggered_at is not None:
            lag_s = (clock.now() - meta.triggered_at).total_seconds()
        metrics.webhook(topic, "applied", lag_s)
        if outcome.moved:
            metrics.pulled(outcome.moved, "webhook")
    elif outcome.status == "ignored" and "stale:" in outcome.detail:
        metrics.webhook(topic, "stale")
    else:
        metrics.webhook(topic, outcome.status or "ignored")


async def _inventory_level(
    state: AppState, body: bytes, meta: WebhookMeta
) -> handlers.WebhookOutcome:
    c = state.container
    return await c.ingest.apply(c.webhooks.inventory_level(meta, body))


async def _order(state: AppState, body: bytes, meta: WebhookMeta) -> handlers.WebhookOutcome:
    c = state.container
    return await handlers.record_order(c.webhooks.order(meta, body), c.uow, c.clock)


async def inventory_update(request: Request) -> Response:
    """Shopify ``inventory_levels/update``: apply the new ``available`` to ``b2c_stock``."""
    return await _receive(request, handlers.INVENTORY_TOPIC, _inventory_level)


async def orders_create(request: Request) -> Response:
    """Shopify ``orders/create``: log the sales and re-read the items (never subtract)."""
    return await _receive(request, handlers.ORDERS_TOPIC, _order)


def register(app: FastAPI) -> None:
    """Add the two webhook routes to ``app``, first in its routing table.

    They are the hot path, so they are plain Starlette routes matched before any other:
    FastAPI's per-request dependency solving and the scan past the other routes cost
    about 35 µs a delivery, a third of what the rest of a delivery costs. The OpenAPI
    document still describes them (``_OPENAPI``).
    """
    app.router.routes[0:0] = [
        Route(INVENTORY_PATH, inventory_update, methods=["POST"]),
        Route(ORDERS_PATH, orders_create, methods=["POST"]),
    ]
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"].update(_OPENAPI)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(_SCHEMAS)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _operation(summary: str, description: str, topic: str, payload: str) -> dict[str, Any]:
    text: dict[str, Any] = {"type": "string"}
    identifier = {"type": "string", "pattern": "^[!-~]{1,200}$"}
    headers = [
        ("X-Shopify-Hmac-Sha256", True, "Base64 HMAC-SHA256 of the raw body, app secret", text),
        ("X-Shopify-Topic", False, f"`{topic}`", {"type": "string", "enum": [topic]}),
        ("X-Shopify-Event-Id", True, "The event; repeated deliveries carry the same id",
         identifier),
        ("X-Shopify-Webhook-Id", False, "The delivery attempt", identifier),
        ("X-Shopify-Shop-Domain", False, "The shop's myshopify.com domain", text),
        ("X-Shopify-Triggered-At", False, "When Shopify emitted the event",
         {"type": "string", "format": "date-time"}),
        ("X-Shopify-API-Version", False, "The payload's Admin API version",
         {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}|unstable)$"}),
    ]  # fmt: skip
    unsigned = " Not covered by the signature: a value that cannot be parsed is treated as absent."
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookError"}}}
    return {
        "post": {
            "tags": ["webhooks"],
            "summary": summary,
            "description": description,
            "operationId": topic.replace("/", "_"),
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": required,
                    "description": about + ("" if name.endswith("Hmac-Sha256") else unsigned),
                    "schema": schema,
                }
                for name, required, about, schema in headers
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}
                },
            },
            "responses": {
                "200": {
                    "description": "Recorded (processed, ignored) or a duplicate delivery",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/WebhookAnswer"}
                        }
                    },
                },
                "400": {
                    "description": "Missing headers, a body that is not the topic's JSON, "
                    "or a field out of range (recorded as a rejected delivery)",
                    "content": error,
                },
                "401": {"description": "Missing or wrong HMAC signature", "content": error},
                "413": {"description": "Body over WEBHOOK_MAX_BODY_BYTES", "content": error},
                "503": {"description": "Database unavailable; Shopify retries", "content": error},
            },
        }
    }


_ID = {"type": "integer", "minimum": 1, "maximum": MAX_SHOPIFY_ID}
_QUANTITY = {
    "type": "integer", "minimum": -SHOPIFY_QUANTITY_LIMIT, "maximum": SHOPIFY_QUANTITY_LIMIT,
}  # fmt: skip

_SCHEMAS: dict[str, Any] = {
    "InventoryLevelPayload": {
        "type": "object",
        "description": "The fields of Shopify's `inventory_levels/update` body we read "
        "(others are ignored); values outside these bounds are refused with 400.",
        "required": ["inventory_item_id", "location_id", "available"],
        "properties": {
            "inventory_item_id": _ID,
            "location_id": _ID,
            "available": {"anyOf": [_QUANTITY, {"type": "null"}]},
            "updated_at": {"type": "string", "format": "date-time"},
            "admin_graphql_api_id": {"type": "string"},
        },
    },
    "OrderPayload": {
        "type": "object",
        "description": "The fields of Shopify's `orders/create` body we read.",
        "required": ["id"],
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "test": {"type": "boolean"},
            "line_items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "quantity"],
                    "properties": {
                        "id": _ID,
                        "variant_id": {"anyOf": [_ID, {"type": "null"}]},
                        "sku": {"type": ["string", "null"]},
                        "quantity": {**_QUANTITY, "minimum": 0},
                        "title": {"type": "string"},
                    },
                },
            },
        },
    },
    "WebhookAnswer": {
        "type": "object",
        "required": ["status", "detail"],
        "properties": {
            "status": {"type": "string", "enum": ["processed", "ignored", "duplicate"]},
            "detail": {"type": "string"},
        },
    },
    "WebhookError": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
}

_OPENAPI: dict[str, Any] = {
    INVENTORY_PATH: _operation(
        "Inventory Update",
        "Shopify `inventory_levels/update`: moves `b2c_stock` by `available - shopify_base` "
        "(three-way merge), de-duplicated by event id, in one transaction shared with the "
        "deliveries arriving at the same time.",
        handlers.INVENTORY_TOPIC,
        "InventoryLevelPayload",
    ),
    ORDERS_PATH: _operation(
        "Orders Create",
        "Shopify `orders/create`: logs each line for a linked product and asks for a re-read "
        "of its items; never subtracts (the inventory update carries the decrement).",
        handlers.ORDERS_TOPIC,
        "OrderPayload",
    ),
}


def _answer(outcome: handlers.WebhookOutcome) -> Response:
    status = "duplicate" if outcome.duplicate else outcome.status
    # orjson: a third of the cost of JSONResponse's json.dumps, on every delivery.
    body = orjson.dumps({"status": status, "detail": outcome.detail})
    return Response(body, media_type="application/json")
