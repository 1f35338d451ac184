"""The control API under `/_simulator/...` (no token): inspect state, act as the merchant or a
customer, inject faults, move the clock, reset, save and load. Documented in docs/simulator.md."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Any, cast, get_args

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from shopify_sync.simulator import persistence
from shopify_sync.simulator.faults import ApiFault, Mode, Scope
from shopify_sync.simulator.ids import gid
from shopify_sync.simulator.model import InventoryItem, Level, Location, Order
from shopify_sync.simulator.orders import BEHAVIOURS, LineSpec, cancel_order, create_order
from shopify_sync.simulator.sim import Simulator
from shopify_sync.simulator.store import LevelMove
from shopify_sync.simulator.timefmt import iso_utc
from shopify_sync.simulator.webhooks.hub import Action, WebhookRule
from shopify_sync.simulator.webhooks.payloads import order_json


class BadRequest(Exception):
    """A control request that cannot be carried out (answered 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def ok(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def sim_of(request: Request) -> Simulator:
    return cast(Simulator, request.app.state.sim)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer") from exc


def level_row(sim: Simulator, level: Level) -> dict[str, Any]:
    item = sim.store.items[level.item_id]
    return {
        "sku": item.sku,
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "variant_id": item.variant_id,
        "available": level.available,
        "committed": level.committed,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "incoming": level.incoming,
        "damaged": level.damaged,
        "quality_control": level.quality_control,
        "safety_stock": level.safety_stock,
        "active": level.active,
        "updated_at": iso_utc(level.updated_at),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{level.id}?inventory_item_id={level.item_id}",
    }


def _item(sim: Simulator, body: dict[str, Any]) -> InventoryItem:
    store = sim.store
    if body.get("sku") is not None:
        variants = store.sku_index.get(str(body["sku"]))
        if not variants:
            raise BadRequest(f"unknown sku {body['sku']!r}", 404)
        return store.items[store.variants[variants[0]].inventory_item_id]
    if body.get("inventory_item_id") is not None:
        item = store.items.get(_int(body["inventory_item_id"], "inventory_item_id"))
        if item is None:
            raise BadRequest("unknown inventory_item_id", 404)
        return item
    raise BadRequest("give sku or inventory_item_id")


def _location(sim: Simulator, body: dict[str, Any]) -> Location:
    if body.get("location_id") is None:
        primary = sim.store.primary_location()
        if primary is None:
            raise BadRequest("the shop has no location", 404)
        return primary
    found = sim.store.locations.get(_int(body["location_id"], "location_id"))
    if found is None:
        raise BadRequest("unknown location_id", 404)
    return found


async def state(request: Request) -> Response:
    sim = sim_of(request)
    store = sim.store
    return ok(
        {
            "shop": store.shop,
            "plan": sim.config.plan,
            "now": iso_utc(store.now()),
            "counts": {
                "locations": len(store.locations),
                "products": len(store.products),
                "variants": len(store.variants),
                "orders": len(store.orders),
                "subscriptions": len(store.subscriptions),
                "adjustments": len(store.history),
                "webhook_deliveries": len(sim.hub.deliveries),
                "bulk_operations": len(sim.bulk.operations),
            },
            "graphql_bucket": {
                "available": sim.graphql_bucket.available(),
                "capacity": sim.graphql_bucket.capacity,
                "restore_rate": sim.graphql_bucket.rate,
            },
            "rest_bucket": {
                "used": sim.rest_bucket.capacity - sim.rest_bucket.available(),
                "capacity": sim.rest_bucket.capacity,
                "leak_rate": sim.rest_bucket.rate,
            },
            "locations": [
                {"id": loc.id, "name": loc.name, "admin_graphql_api_id": gid("Location", loc.id)}
                for loc in store.locations.values()
            ],
        }
    )


async def levels(request: Request) -> Response:
    sim = sim_of(request)
    store = sim.store
    params = request.query_params
    limit = _int(params.get("limit", "100"), "limit")
    items: list[InventoryItem]
    if "sku" in params or "inventory_item_id" in params:
        items = [_item(sim, dict(params))]
    else:
        items = [store.items[k] for k in store.sorted_keys(store.items)[:limit]]
    location_id = params.get("location_id")
    rows = [
        level_row(sim, item.levels[loc])
        for item in items
        for loc in sorted(item.levels)
        if location_id is None or str(loc) == location_id
    ]
    return ok({"levels": rows[:limit]})


def _order_row(sim: Simulator, order: Order) -> dict[str, Any]:
    row = order_json(sim.store, order, sim.zone)
    row["inventory_behaviour"] = order.inventory_behaviour
    row["claimed"] = [
        {"line_item_id": line.id, "location_id": line.location_id, "restocked": line.restocked}
        for line in order.line_items
    ]
    return row


async def orders(request: Request) -> Response:
    sim = sim_of(request)
    return ok({"orders": [_order_row(sim, order) for order in sim.store.orders.values()]})


async def place_order(request: Request) -> Response:
    sim = sim_of(request)
    body = await body_of(request)
    behaviour = str(body.get("inventory_behaviour", "DECREMENT_OBEYING_POLICY")).upper()
    if behaviour not in BEHAVIOURS:
        raise BadRequest(f"inventory_behaviour must be one of {', '.join(BEHAVIOURS)}")
    lines = []
    for spec in body.get("line_items") or []:
        if spec.get("sku") is not None:
            item = _item(sim, {"sku": spec["sku"]})
            variant_id: int | None = item.variant_id
        else:
            variant_id = _int(spec["variant_id"], "variant_id") if "variant_id" in spec else None
        lines.append(
            LineSpec(
                quantity=_int(spec.get("quantity", 1), "quantity"),
                variant_id=variant_id,
                title=spec.get("title"),
                price=spec.get("price"),
            )
        )
    order, errors = create_order(
        sim.store, lines, behaviour=behaviour, email=body.get("email"), test=bool(body.get("test"))
    )
    if order is None:
        return ok({"errors": [e.as_dict() for e in errors]}, 422)
    return ok({"order": _order_row(sim, order)}, 201)


async def cancel(request: Request) -> Response:
    sim = sim_of(request)
    body = await body_of(request)
    order, errors = cancel_order(
        sim.store,
        int(request.path_params["id"]),
        reason=str(body.get("reason", "customer")),
        restock=bool(body.get("restock", True)),
    )
    if order is None:
        return ok({"errors": [e.as_dict() for e in errors]}, 422)
    return ok({"order": _order_row(sim, order)})


async def merchant_edit(request: Request) -> Response:
    """Set or adjust `available` as a merchant does in the Shopify admin (fires webhooks)."""
    sim = sim_of(request)
    body = await body_of(request)
    item = _item(sim, body)
    location = _location(sim, body)
    level = item.levels.get(location.id)
    if level is None or not level.active:
        level = sim.store.connect(item, location, 0)
    if request.path_params["action"] == "set":
        delta = _int(body.get("available"), "available") - level.available
    elif request.path_params["action"] == "adjust":
        delta = _int(body.get("delta"), "delta")
    else:
        raise BadRequest("unknown merchant action", 404)
    group = sim.store.apply(
        [LevelMove(level, "available", delta)],
        reason=str(body.get("reason", "correction")),
        reference_document_uri=body.get("reference_document_uri"),
        source="merchant",
    )
    return ok({"level": level_row(sim, level), "adjustment_group_id": group.id})


async def history(request: Request) -> Response:
    sim = sim_of(request)
    params = request.query_params
    item_id = params.get("inventory_item_id")
    if params.get("sku"):
        item_id = str(_item(sim, {"sku": params["sku"]}).id)
    limit = _int(params.get("limit", "100"), "limit")
    rows = []
    for group in reversed(sim.store.history):
        if item_id is not None and all(str(c.item_id) != item_id for c in group.changes):
            continue
        rows.append(
            {
                "id": group.id,
                "admin_graphql_api_id": gid("InventoryAdjustmentGroup", group.id),
                "created_at": iso_utc(group.created_at),
                "reason": group.reason,
                "reference_document_uri": group.reference_document_uri,
                "source": group.source,
                "changes": [
                    {
                        "name": c.name,
                        "delta": c.delta,
                        "quantity_after_change": c.quantity_after,
                        "inventory_item_id": c.item_id,
                        "location_id": c.location_id,
                        "ledger_document_uri": c.ledger_document_uri,
                    }
                    for c in group.changes
                ],
            }
        )
        if len(rows) >= limit:
            break
    return ok({"adjustments": rows})


async def subscriptions(request: Request) -> Response:
    sim = sim_of(request)
    return ok({"subscriptions": [asdict(s) for s in sim.store.subscriptions.values()]})


async def webhooks(request: Request) -> Response:
    sim = sim_of(request)
    topic = request.query_params.get("topic")
    status = request.query_params.get("status")
    rows = [
        d.as_json()
        for d in sim.hub.deliveries
        if (topic is None or d.topic == topic) and (status is None or d.status == status)
    ]
    return ok({"webhooks": rows})


async def release(request: Request) -> Response:
    body = await body_of(request)
    order = body.get("order", "fifo")
    if not isinstance(order, list) and order not in ("fifo", "reverse", "shuffle"):
        raise BadRequest("order must be fifo, reverse, shuffle or a list of webhook ids")
    return ok({"released": sim_of(request).hub.release(order)})


async def api_fault(request: Request) -> Response:
    body = await body_of(request)
    mode = body.get("mode", "status")
    scope = body.get("scope", "all")
    if mode not in get_args(Mode) or scope not in get_args(Scope):
        raise BadRequest("mode must be status|timeout|lose_response, scope all|graphql|rest")
    fault = ApiFault(
        mode=mode,
        remaining=_int(body.get("count", 1), "count"),
        status=_int(body.get("status", 504 if mode == "timeout" else 503), "status"),
        scope=scope,
        match=body.get("match"),
    )
    sim_of(request).faults.rules.append(fault)
    return ok({"fault": fault.as_json()}, 201)


async def latency(request: Request) -> Response:
    body = await body_of(request)
    sim_of(request).faults.latency_s = _int(body.get("ms", 0), "ms") / 1000
    return ok({"latency_ms": body.get("ms", 0)})


async def webhook_fault(request: Request) -> Response:
    body = await body_of(request)
    action = body.get("action")
    if action not in get_args(Action):
        raise BadRequest(f"action must be one of {', '.join(get_args(Action))}")
    rule = WebhookRule(
        action=cast(Action, action),
        remaining=_int(body.get("count", 1), "count"),
        topic=body.get("topic"),
        delay_s=float(body.get("delay_s", 0.0)),
    )
    sim_of(request).hub.rules.append(rule)
    return ok({"fault": rule.as_json()}, 201)


async def faults(request: Request) -> Response:
    sim = sim_of(request)
    if request.method == "DELETE":
        sim.faults.clear()
        sim.hub.clear_faults()
    return ok(
        {
            **sim.faults.as_json(),
            "webhooks": [r.as_json() for r in sim.hub.rules if r.remaining > 0],
            "held_webhooks": len(sim.hub.held),
        }
    )


async def reset(request: Request) -> Response:
    sim_of(request).reset()
    return ok({"reset": True})


async def export_state(request: Request) -> Response:
    return ok(persistence.dump(sim_of(request).store))


async def import_state(request: Request) -> Response:
    try:
        sim_of(request).load_state(await body_of(request))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"not a saved state: {exc}") from exc
    return ok({"loaded": True})


async def advance_clock(request: Request) -> Response:
    body = await body_of(request)
    sim = sim_of(request)
    sim.clock.advance(float(body.get("seconds", 0)))
    return ok({"now": iso_utc(sim.store.now())})


async def auth(request: Request) -> Response:
    """The app's authentication: lifetime of new tokens, granted scopes, installed or not;
    `expire_tokens: true` expires every token issued so far."""
    sim = sim_of(request)
    if request.method == "POST":
        body = await body_of(request)
        if "token_lifetime_s" in body:
            lifetime = _int(body["token_lifetime_s"], "token_lifetime_s")
            if lifetime < 1:
                raise BadRequest("token_lifetime_s must be at least 1")
            sim.auth.lifetime_s = lifetime
        if "scopes" in body:
            scopes = body["scopes"]
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise BadRequest("scopes must be a list of scope handles")
            sim.auth.scopes = tuple(scopes)
        if "installed" in body:
            sim.auth.installed = bool(body["installed"])
        if body.get("expire_tokens"):
            sim.auth.expire_all()
    return ok(sim.auth.as_json())


async def throttle(request: Request) -> Response:
    body = await body_of(request)
    sim = sim_of(request)
    if "graphql_available" in body:
        sim.graphql_bucket.set_available(float(body["graphql_available"]))
    if "rest_used" in body:
        sim.rest_bucket.set_available(sim.rest_bucket.capacity - float(body["rest_used"]))
    return ok(
        {
            "graphql_available": sim.graphql_bucket.available(),
            "rest_used": sim.rest_bucket.capacity - sim.rest_bucket.available(),
        }
    )


async def bulk_result(request: Request) -> Response:
    operation = sim_of(request).bulk.get(int(request.path_params["id"]))
    if operation is None or operation.url is None:
        return ok({"errors": "Not Found"}, 404)
    chunks = list(operation.chunks)

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return StreamingResponse(stream(), media_type="application/jsonl")


async def health(request: Request) -> Response:
    return ok({"ok": True})


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(endpoint: Endpoint) -> Endpoint:
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return ok({"errors": str(exc)}, exc.status)

    return run


ROUTES = [
    Route(path, guarded(endpoint), methods=methods)
    for path, endpoint, methods in [
        ("/health", health, ["GET"]),
        ("/state", state, ["GET"]),
        ("/state/export", export_state, ["GET"]),
        ("/state/import", import_state, ["POST"]),
        ("/levels", levels, ["GET"]),
        ("/history", history, ["GET"]),
        ("/orders", orders, ["GET"]),
        ("/orders", place_order, ["POST"]),
        ("/orders/{id:int}/cancel", cancel, ["POST"]),
        ("/merchant/{action}", merchant_edit, ["POST"]),
        ("/subscriptions", subscriptions, ["GET"]),
        ("/webhooks", webhooks, ["GET"]),
        ("/webhooks/release", release, ["POST"]),
        ("/faults", faults, ["GET", "DELETE"]),
        ("/faults/api", api_fault, ["POST"]),
        ("/faults/latency", latency, ["POST"]),
        ("/faults/webhooks", webhook_fault, ["POST"]),
        ("/reset", reset, ["POST"]),
        ("/clock/advance", advance_clock, ["POST"]),
        ("/throttle", throttle, ["POST"]),
        ("/auth", auth, ["GET", "POST"]),
        ("/bulk/{id:int}.jsonl", bulk_result, ["GET"]),
    ]
]
