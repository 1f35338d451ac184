"""Point 4: webhooks like Shopify's: topics, signed bodies, oracle shapes, retries, removal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from shopify_sync.simulator import ManualClock
from tests.simulator.harness import ORACLES, SECRET, SET_MUTATION, Shop, Sink

SUBSCRIBE = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
    webhookSubscription { id } userErrors { field message } } }"""
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([-+]\d\d:\d\d|Z)$")


def oracle_schema(version: str, topic: str) -> dict[str, Any]:
    path = ORACLES / "webhooks" / "schemas" / version / f"{topic}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def subscribe(shop: Shop, topic: str, uri: str, version: str = "2026-04") -> str:
    body = shop.gql(SUBSCRIBE, {"topic": topic, "uri": uri}, version)
    payload = body["data"]["webhookSubscriptionCreate"]
    assert payload["userErrors"] == []
    sub_id: str = payload["webhookSubscription"]["id"]
    return sub_id


def independent_hmac(body: bytes) -> str:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def wait_until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def deliveries(shop: Shop, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = shop.http.get("/_simulator/webhooks", params=params).json()[
        "webhooks"
    ]
    return rows


def test_merchant_edit_fires_signed_inventory_update(shop: Shop, sink: Sink) -> None:
    """A merchant edit sends an inventory_levels/update that verifies and matches the oracle."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)

    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": 77})

    [received] = sink.wait_for(1)
    headers = received.headers
    payload = json.loads(received.body)
    assert headers["x-shopify-hmac-sha256"] == independent_hmac(received.body)
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert headers["x-shopify-shop-domain"] == "demo.myshopify.com"
    assert headers["x-shopify-api-version"] == "2026-04"
    assert headers["x-shopify-webhook-id"] and headers["x-shopify-event-id"]
    assert headers["x-shopify-triggered-at"].endswith("Z")
    jsonschema.validate(payload, oracle_schema("2026-04", "inventory_levels/update"))
    assert payload["available"] == 77
    assert TIMESTAMP.match(payload["updated_at"])
    assert payload["updated_at"] == "2026-05-01T10:00:00-04:00"
    assert payload["inventory_item_id"] > 2**53
    assert payload["admin_graphql_api_id"].endswith(
        f"inventory_item_id={payload['inventory_item_id']}"
    )


def test_api_write_fires_update(shop: Shop, sink: Sink) -> None:
    """An inventorySetQuantities write fires inventory_levels/update with the new value."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    item, location, available = shop.first_item()

    shop.gql(
        SET_MUTATION,
        {
            "key": "w1",
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": item,
                        "locationId": location,
                        "quantity": available + 4,
                        "changeFromQuantity": available,
                    }
                ],
            },
        },
    )

    [received] = sink.wait_for(1)
    assert json.loads(received.body)["available"] == available + 4


@pytest.mark.parametrize("version", ["2025-10", "2026-01", "2026-04", "2026-07"])
def test_order_webhooks_match_oracle_schemas(shop: Shop, sink: Sink, version: str) -> None:
    """orderCreate fires orders/create and inventory_levels/update shaped as the version says."""
    subscribe(shop, "ORDERS_CREATE", sink.url + "/orders", version)
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url + "/levels", version)
    variant = shop.gql('{ productVariants(first: 1, query: "sku:SKU-000002") { nodes { id } } }')

    shop.gql(
        "mutation($v: ID!) { orderCreate(order: {lineItems: [{variantId: $v, quantity: 1}]}, "
        "options: {inventoryBehaviour: DECREMENT_IGNORING_POLICY}) { userErrors { message } } }",
        {"v": variant["data"]["productVariants"]["nodes"][0]["id"]},
        version,
    )

    received = {r.path: r for r in sink.wait_for(2)}
    order = json.loads(received["/webhooks/orders"].body)
    level = json.loads(received["/webhooks/levels"].body)
    jsonschema.validate(order, oracle_schema(version, "orders/create"))
    jsonschema.validate(level, oracle_schema(version, "inventory_levels/update"))
    assert order["line_items"][0]["sku"] == "SKU-000002"
    assert order["id"] > 2**53
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert received["/webhooks/orders"].headers["x-shopify-api-version"] == version


def test_cancel_fires_orders_cancelled_and_restock_update(shop: Shop, sink: Sink) -> None:
    """Cancelling with restock fires orders/cancelled and an inventory_levels/update."""
    order = shop.http.post(
        "/_simulator/orders", json={"line_items": [{"sku": "SKU-000003", "quantity": 1}]}
    ).json()["order"]
    subscribe(shop, "ORDERS_CANCELLED", sink.url + "/cancelled")
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url + "/levels")

    shop.http.post(f"/_simulator/orders/{order['id']}/cancel", json={"restock": True})

    received = {r.path: json.loads(r.body) for r in sink.wait_for(2)}
    cancelled = received["/webhooks/cancelled"]
    jsonschema.validate(cancelled, oracle_schema("2026-04", "orders/create"))
    assert (cancelled["id"], cancelled["cancel_reason"]) == (order["id"], "customer")
    assert received["/webhooks/levels"]["inventory_item_id"] > 0


def test_include_fields_trims_the_payload(shop: Shop, sink: Sink) -> None:
    """A subscription with includeFields receives only those keys."""
    shop.gql(
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,
          webhookSubscription: {uri: $uri, includeFields: ["available", "updated_at"]}) {
          userErrors { message } } }""",
        {"uri": sink.url},
    )

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})

    [received] = sink.wait_for(1)
    assert set(json.loads(received.body)) == {"available", "updated_at"}


def test_failed_delivery_is_retried_with_the_same_ids(
    shop: Shop, sink: Sink, clock: ManualClock
) -> None:
    """A non-2xx answer is retried on the backoff schedule with the original body and ids."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    sink.statuses.extend([500])

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})
    sink.wait_for(1)
    # The retry is scheduled once the simulator has read the 500, a moment after the sink.
    wait_until(lambda: deliveries(shop)[0]["status"] == "retrying")
    clock.advance(114)
    time.sleep(0.1)
    early = len(sink.received)
    clock.advance(2)
    first, second = sink.wait_for(2)

    assert early == 1
    assert first.body == second.body
    assert first.headers["x-shopify-webhook-id"] == second.headers["x-shopify-webhook-id"]
    wait_until(lambda: deliveries(shop)[0]["status"] == "delivered")
    assert [a["status"] for a in deliveries(shop)[0]["attempts"]] == [500, 200]


def test_subscription_removed_after_last_failure(
    shop: Shop, sink: Sink, clock: ManualClock
) -> None:
    """After 8 failed attempts over about 4 hours the subscription is deleted."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    sink.statuses.extend([503] * 8)

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})
    for attempt in range(1, 9):
        sink.wait_for(attempt)

        def reached(n: int = attempt) -> bool:
            return len(deliveries(shop)[0]["attempts"]) == n

        wait_until(reached)
        clock.advance(7200)

    wait_until(lambda: deliveries(shop)[0]["status"] == "failed")
    subs = shop.gql("{ webhookSubscriptions(first: 5) { nodes { id } } }")
    assert subs["data"]["webhookSubscriptions"]["nodes"] == []
    assert len(sink.received) == 8


def test_slow_endpoint_counts_as_failure(shop: Shop, sink: Sink) -> None:
    """An endpoint slower than the delivery timeout gets the attempt marked as failed."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    sink.delay_s = 1.5

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})

    wait_until(lambda: bool(deliveries(shop) and deliveries(shop)[0]["attempts"]))
    attempt = deliveries(shop)[0]["attempts"][0]
    assert (attempt["status"], attempt["error"]) == (None, "ReadTimeout")
    assert deliveries(shop)[0]["status"] == "retrying"
