"""Point 5: fault injection for API calls and webhook deliveries."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.simulator.harness import Shop, Sink
from tests.simulator.test_webhooks import deliveries, subscribe, wait_until

QUERY = {"query": "{ shop { name } }"}
GRAPHQL = "/admin/api/2026-04/graphql.json"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_next_calls_fail_with_status(shop: Shop, status: int) -> None:
    """A status fault fails exactly the next N calls, then calls succeed again."""
    shop.http.post("/_simulator/faults/api", json={"mode": "status", "status": status, "count": 2})

    codes = [shop.http.post(GRAPHQL, json=QUERY).status_code for _ in range(3)]

    assert codes == [status, status, 200]


def test_fault_scope_and_match(shop: Shop) -> None:
    """A fault limited to REST and to a path does not touch other calls."""
    shop.http.post(
        "/_simulator/faults/api",
        json={"status": 503, "scope": "rest", "match": "variants", "count": 1},
    )

    graphql = shop.http.post(GRAPHQL, json=QUERY).status_code
    locations = shop.http.get("/admin/api/2026-04/locations.json").status_code
    variant = shop.http.get("/admin/api/2026-04/variants/1.json").status_code

    assert (graphql, locations, variant) == (200, 200, 503)


def test_timeout_fault_hangs(shop: Shop) -> None:
    """A timeout fault holds the request long enough for a client timeout."""
    shop.http.post("/_simulator/faults/api", json={"mode": "timeout"})

    with pytest.raises(httpx.ReadTimeout):
        shop.http.post(GRAPHQL, json=QUERY, timeout=0.2)


def test_lose_response_applies_the_write(shop: Shop) -> None:
    """lose_response performs the REST write but answers 502."""
    store = shop.sim.store
    variant = store.variants[store.sku_index["SKU-000001"][0]]
    location = store.primary_location()
    assert location is not None
    shop.http.post("/_simulator/faults/api", json={"mode": "lose_response", "status": 502})

    response = shop.http.post(
        "/admin/api/2026-04/inventory_levels/set.json",
        json={
            "inventory_item_id": variant.inventory_item_id,
            "location_id": location.id,
            "available": 31,
        },
    )

    assert response.status_code == 502
    assert store.items[variant.inventory_item_id].levels[location.id].available == 31


def test_latency_is_added(shop: Shop) -> None:
    """Added latency delays every API call."""
    shop.http.post("/_simulator/faults/latency", json={"ms": 200})

    started = time.perf_counter()
    shop.http.post(GRAPHQL, json=QUERY)

    assert time.perf_counter() - started >= 0.2


def test_clearing_faults(shop: Shop) -> None:
    """DELETE /_simulator/faults removes every pending fault."""
    shop.http.post("/_simulator/faults/api", json={"status": 500, "count": 5})

    shop.http.delete("/_simulator/faults")

    assert shop.http.post(GRAPHQL, json=QUERY).status_code == 200


def test_duplicate_delivery(shop: Shop, sink: Sink) -> None:
    """A duplicate fault delivers the same webhook twice with the same ids."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    shop.http.post("/_simulator/faults/webhooks", json={"action": "duplicate"})

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})

    first, second = sink.wait_for(2)
    assert first.body == second.body
    assert first.headers["x-shopify-webhook-id"] == second.headers["x-shopify-webhook-id"]


def test_drop_delivery(shop: Shop, sink: Sink) -> None:
    """A drop fault loses the next delivery; later ones arrive."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    shop.http.post("/_simulator/faults/webhooks", json={"action": "drop"})

    for value in (5, 6):
        shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": value})

    [received] = sink.wait_for(1)
    # The simulator marks a delivery once the answer is back, a moment after the sink saw it.
    wait_until(lambda: [d["status"] for d in deliveries(shop)] == ["dropped", "delivered"])
    assert json.loads(received.body)["available"] == 6


def test_reorder_delivers_in_reverse(shop: Shop, sink: Sink) -> None:
    """A reorder fault holds the next N deliveries and sends them newest first."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    shop.http.post("/_simulator/faults/webhooks", json={"action": "reorder", "count": 3})

    for value in (1, 2, 3):
        shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": value})

    received = sink.wait_for(3)
    assert [json.loads(r.body)["available"] for r in received] == [3, 2, 1]


def test_hold_and_release(shop: Shop, sink: Sink) -> None:
    """Held deliveries wait until released, then go out in the requested order."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    shop.http.post("/_simulator/faults/webhooks", json={"action": "hold", "count": 2})
    for value in (1, 2):
        shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": value})
    time.sleep(0.1)
    held = len(sink.received)

    released = shop.http.post("/_simulator/webhooks/release", json={"order": "fifo"}).json()

    assert held == 0
    assert released == {"released": 2}
    assert [json.loads(r.body)["available"] for r in sink.wait_for(2)] == [1, 2]


def test_delay_delivery(shop: Shop, sink: Sink) -> None:
    """A delay fault postpones a delivery by the given seconds of the simulator clock."""
    subscribe(shop, "INVENTORY_LEVELS_UPDATE", sink.url)
    shop.http.post("/_simulator/faults/webhooks", json={"action": "delay", "delay_s": 30})

    shop.http.post("/_simulator/merchant/adjust", json={"sku": "SKU-000001", "delta": 1})
    time.sleep(0.1)
    before = len(sink.received)
    shop.clock.advance(31)

    assert before == 0
    assert len(sink.wait_for(1)) == 1
    wait_until(lambda: deliveries(shop)[0]["status"] == "delivered")
