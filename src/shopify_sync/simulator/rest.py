"""Legacy REST Admin API endpoints that setup scripts use: locations, webhooks, levels, variants."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from shopify_sync.simulator.model import InventoryItem, Location, Subscription
from shopify_sync.simulator.sim import Simulator
from shopify_sync.simulator.store import LevelMove
from shopify_sync.simulator.timefmt import iso_shop
from shopify_sync.simulator.webhooks.payloads import level_json
from shopify_sync.simulator.webhooks.subscriptions import create_subscription, delete_subscription

Handler = Callable[[Request, Simulator, str], Awaitable[Response]]
MAX_LIMIT = 250


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def not_found() -> Response:
    return json_response({"errors": "Not Found"}, 404)


def _ids(request: Request, name: str) -> list[int] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


def _location_json(sim: Simulator, location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "name": location.name,
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "zip": location.zip,
        "province": location.province,
        "country": location.country_code,
        "phone": None,
        "created_at": iso_shop(location.created_at, sim.zone),
        "updated_at": iso_shop(location.updated_at, sim.zone),
        "country_code": location.country_code,
        "country_name": "Canada" if location.country_code == "CA" else location.country_code,
        "province_code": location.province_code,
        "legacy": False,
        "active": location.active,
        "admin_graphql_api_id": f"gid://shopify/Location/{location.id}",
        "localized_country_name": "Canada"
        if location.country_code == "CA"
        else location.country_code,
        "localized_province_name": location.province,
    }


def _webhook_json(sim: Simulator, sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "address": sub.address,
        "topic": sub.topic,
        "created_at": iso_shop(sub.created_at, sim.zone),
        "updated_at": iso_shop(sub.updated_at, sim.zone),
        "format": sub.format,
        "fields": sub.include_fields,
        "metafield_namespaces": sub.metafield_namespaces,
        "api_version": sub.api_version,
        "private_metafield_namespaces": [],
        "filter": sub.filter,
        "admin_graphql_api_id": f"gid://shopify/WebhookSubscription/{sub.id}",
    }


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


async def locations(request: Request, sim: Simulator, version: str) -> Response:
    store = sim.store
    rows = [_location_json(sim, store.locations[k]) for k in store.sorted_keys(store.locations)]
    return json_response({"locations": rows})


async def location(request: Request, sim: Simulator, version: str) -> Response:
    found = sim.store.locations.get(int(request.path_params["id"]))
    if found is None:
        return not_found()
    return json_response({"location": _location_json(sim, found)})


async def webhooks(request: Request, sim: Simulator, version: str) -> Response:
    store = sim.store
    topic = request.query_params.get("topic")
    address = request.query_params.get("address")
    rows = [
        _webhook_json(sim, sub)
        for sub in store.subscriptions.values()
        if (topic is None or sub.topic == topic) and (address is None or sub.address == address)
    ]
    return json_response({"webhooks": rows})


async def create_webhook(request: Request, sim: Simulator, version: str) -> Response:
    body = await _body(request)
    spec = body.get("webhook") if body else None
    if not isinstance(spec, dict):
        return json_response({"errors": {"webhook": "Required parameter missing or invalid"}}, 400)
    topic = str(spec.get("topic") or "")
    if "/" not in topic:
        return json_response({"errors": {"topic": ["Invalid topic specified: " + topic]}}, 422)
    sub, errors = create_subscription(sim.store, topic, spec, version)
    if sub is None:
        field = "address"
        return json_response({"errors": {field: [e.message for e in errors]}}, 422)
    return json_response({"webhook": _webhook_json(sim, sub)}, 201)


async def webhook(request: Request, sim: Simulator, version: str) -> Response:
    sub_id = int(request.path_params["id"])
    if request.method == "DELETE":
        if delete_subscription(sim.store, sub_id):
            return not_found()
        return json_response({})
    sub = sim.store.subscriptions.get(sub_id)
    return json_response({"webhook": _webhook_json(sim, sub)}) if sub else not_found()


async def inventory_levels(request: Request, sim: Simulator, version: str) -> Response:
    store = sim.store
    item_ids = _ids(request, "inventory_item_ids")
    location_ids = _ids(request, "location_ids")
    if item_ids is None and location_ids is None:
        return json_response(
            {"errors": {"base": ["inventory_item_ids or location_ids must be specified"]}}, 422
        )
    limit = min(int(request.query_params.get("limit") or 50), MAX_LIMIT)
    levels = []
    if item_ids is not None:
        for item_id in item_ids:
            item = store.items.get(item_id)
            if item is None:
                continue
            for location_id in sorted(item.levels):
                if location_ids is None or location_id in location_ids:
                    levels.append(item.levels[location_id])
    else:
        for location_id in location_ids or []:
            found = store.locations.get(location_id)
            if found is not None:
                levels.extend(found.levels[k] for k in store.sorted_keys(found.levels)[:limit])
    rows = [level_json(lv, lv.available, lv.updated_at, sim.zone) for lv in levels if lv.active]
    return json_response({"inventory_levels": rows[:limit]})


def _item_and_location(
    sim: Simulator, body: dict[str, Any]
) -> tuple[InventoryItem | None, Location | None]:
    store = sim.store
    item = store.items.get(int(body.get("inventory_item_id") or 0))
    found = store.locations.get(int(body.get("location_id") or 0))
    return item, found


async def _write_level(request: Request, sim: Simulator, mode: str) -> Response:
    body = await _body(request)
    if body is None:
        return json_response({"errors": "Required parameter missing or invalid"}, 400)
    item, found = _item_and_location(sim, body)
    if item is None or found is None:
        return json_response({"errors": ["Inventory item or location does not exist"]}, 422)
    if not item.tracked:
        return json_response(
            {"errors": ["Inventory item does not have inventory tracking enabled"]}, 422
        )
    level = item.levels.get(found.id)
    if mode == "connect" or (mode == "set" and (level is None or not level.active)):
        level = sim.store.connect(item, found, 0 if level is None else level.available)
    if level is None or not level.active:
        return json_response({"errors": ["Inventory item is not stocked at the location"]}, 422)
    if mode in ("set", "adjust"):
        key = "available" if mode == "set" else "available_adjustment"
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            return json_response({"errors": {key: ["is not a number"]}}, 422)
        delta = value - level.available if mode == "set" else value
        sim.store.apply(
            [LevelMove(level, "available", delta)],
            reason="correction",
            reference_document_uri=None,
            source="app",
        )
    return json_response(
        {"inventory_level": level_json(level, level.available, level.updated_at, sim.zone)}
    )


async def set_level(request: Request, sim: Simulator, version: str) -> Response:
    return await _write_level(request, sim, "set")


async def adjust_level(request: Request, sim: Simulator, version: str) -> Response:
    return await _write_level(request, sim, "adjust")


async def connect_level(request: Request, sim: Simulator, version: str) -> Response:
    return await _write_level(request, sim, "connect")


async def variant(request: Request, sim: Simulator, version: str) -> Response:
    store = sim.store
    found = store.variants.get(int(request.path_params["id"]))
    if found is None:
        return not_found()
    item = store.items[found.inventory_item_id]
    quantity = sum(level.available for level in item.levels.values() if level.active)
    return json_response(
        {
            "variant": {
                "id": found.id,
                "product_id": found.product_id,
                "title": found.title,
                "price": found.price,
                "sku": found.sku,
                "position": found.position,
                "inventory_policy": found.inventory_policy.lower(),
                "compare_at_price": None,
                "option1": found.title,
                "option2": None,
                "option3": None,
                "created_at": iso_shop(found.created_at, sim.zone),
                "updated_at": iso_shop(found.updated_at, sim.zone),
                "taxable": True,
                "barcode": found.barcode,
                "fulfillment_service": "manual",
                "grams": 0,
                "inventory_management": "shopify" if item.tracked else None,
                "requires_shipping": True,
                "weight": 0.0,
                "weight_unit": "kg",
                "inventory_item_id": item.id,
                "inventory_quantity": quantity,
                "old_inventory_quantity": quantity,
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{found.id}",
                "image_id": None,
            }
        }
    )


ROUTES: list[tuple[str, list[str], Handler]] = [
    ("/locations.json", ["GET"], locations),
    ("/locations/{id:int}.json", ["GET"], location),
    ("/webhooks.json", ["GET"], webhooks),
    ("/webhooks.json", ["POST"], create_webhook),
    ("/webhooks/{id:int}.json", ["GET", "DELETE"], webhook),
    ("/inventory_levels.json", ["GET"], inventory_levels),
    ("/inventory_levels/set.json", ["POST"], set_level),
    ("/inventory_levels/adjust.json", ["POST"], adjust_level),
    ("/inventory_levels/connect.json", ["POST"], connect_level),
    ("/variants/{id:int}.json", ["GET"], variant),
]
