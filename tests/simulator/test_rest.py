"""Point 3: the legacy REST endpoints and the REST call-limit bucket."""

from __future__ import annotations

import json

from shopify_sync.simulator import ManualClock
from tests.simulator.harness import Shop, Sink

BASE = "/admin/api/2026-04"


def _ids(shop: Shop) -> tuple[int, int, int]:
    store = shop.sim.store
    variant = store.variants[store.sku_index["SKU-000001"][0]]
    location = store.primary_location()
    assert location is not None
    return variant.id, variant.inventory_item_id, location.id


def test_locations_json(shop: Shop) -> None:
    """GET locations.json lists the locations with REST field names."""
    response = shop.http.get(f"{BASE}/locations.json")

    [location] = response.json()["locations"]
    assert (location["name"], location["active"], location["legacy"]) == (
        "Main warehouse",
        True,
        False,
    )
    assert location["admin_graphql_api_id"] == f"gid://shopify/Location/{location['id']}"


def test_variant_json(shop: Shop) -> None:
    """GET variants/{id}.json returns the variant with its inventory item id."""
    variant_id, item_id, _ = _ids(shop)

    variant = shop.http.get(f"{BASE}/variants/{variant_id}.json").json()["variant"]

    assert (variant["sku"], variant["inventory_item_id"], variant["inventory_management"]) == (
        "SKU-000001",
        item_id,
        "shopify",
    )


def test_set_adjust_and_read_levels(shop: Shop) -> None:
    """set.json and adjust.json change available; inventory_levels.json reads it back."""
    _, item_id, location_id = _ids(shop)
    ids = {"inventory_item_id": item_id, "location_id": location_id}

    set_response = shop.http.post(
        f"{BASE}/inventory_levels/set.json", json={**ids, "available": 42}
    )
    adjust_response = shop.http.post(
        f"{BASE}/inventory_levels/adjust.json", json={**ids, "available_adjustment": -2}
    )
    levels = shop.http.get(
        f"{BASE}/inventory_levels.json", params={"inventory_item_ids": str(item_id)}
    ).json()["inventory_levels"]

    assert set_response.json()["inventory_level"]["available"] == 42
    assert adjust_response.json()["inventory_level"]["available"] == 40
    assert [(lv["location_id"], lv["available"]) for lv in levels] == [(location_id, 40)]


def test_levels_need_a_filter(shop: Shop) -> None:
    """inventory_levels.json without item or location ids is refused with 422."""
    response = shop.http.get(f"{BASE}/inventory_levels.json")

    assert response.status_code == 422


def test_rest_webhook_subscription_delivers(shop: Shop, sink: Sink) -> None:
    """A subscription created with POST webhooks.json receives deliveries and is listed."""
    created = shop.http.post(
        f"{BASE}/webhooks.json",
        json={
            "webhook": {"topic": "inventory_levels/update", "address": sink.url, "format": "json"}
        },
    )
    listed = shop.http.get(f"{BASE}/webhooks.json").json()["webhooks"]

    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": 3})

    assert created.status_code == 201
    assert [w["topic"] for w in listed] == ["inventory_levels/update"]
    assert json.loads(sink.wait_for(1)[0].body)["available"] == 3


def test_call_limit_header_counts_requests(shop: Shop) -> None:
    """Every REST response carries X-Shopify-Shop-Api-Call-Limit."""
    first = shop.http.get(f"{BASE}/locations.json")
    second = shop.http.get(f"{BASE}/locations.json")

    assert first.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert second.headers["X-Shopify-Shop-Api-Call-Limit"] == "2/40"


def test_rest_bucket_overflow_is_429_with_retry_after(shop: Shop, clock: ManualClock) -> None:
    """The 41st request in a burst gets 429 and Retry-After; the bucket leaks 2 per second."""
    statuses = [shop.http.get(f"{BASE}/locations.json").status_code for _ in range(41)]
    limited = shop.http.get(f"{BASE}/locations.json")
    clock.advance(0.5)
    after_leak = shop.http.get(f"{BASE}/locations.json")

    assert statuses[:40] == [200] * 40
    assert statuses[40] == 429
    assert limited.status_code == 429
    assert float(limited.headers["Retry-After"]) > 0
    assert "Exceeded 2 calls per second" in limited.json()["errors"]
    assert after_leak.status_code == 200
