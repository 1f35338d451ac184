"""The service against the local Shopify simulator over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.service.stack import Stack, running_stack, wait_for


@pytest.fixture(name="stack")
def _stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as stack:
        stack.subscribe_webhooks()
        yield stack


def test_b2b_change_reaches_shopify(database_url: str) -> None:
    """POST /sync/{id} resolves the variant's item and pushes our B2C stock to Shopify.

    The pending scan is slowed down here, and the row is written only once the start-up
    reconcile has run: either one sometimes pushed the new row first, and the request then
    rightly found both sides in sync.
    """
    with running_stack(database_url, PENDING_SCAN_INTERVAL_SECONDS="60") as stack:
        wait_for(
            lambda: stack.sql("SELECT count(*) FROM sync_runs")[0][0] > 0,
            what="the start-up reconcile",
        )
        stack.link("p1", "SKU-000001", b2c=40)

        response = stack.api("POST", "/sync/p1")

        assert response.status_code == 200, response.text
        assert response.json()["action"] == "pushed"
        assert stack.available("SKU-000001") == 40
        assert stack.ours("p1") == (40, 40)


def test_our_write_is_visible_in_shopify_history(stack: Stack) -> None:
    """Our write carries reason and a reference naming the batch, as Shopify's history shows."""
    stack.link("p1", "SKU-000001", b2c=33)
    stack.api("POST", "/sync/p1")

    history = stack.sim("GET", "/history?sku=SKU-000001")

    latest = history["adjustments"][0] if "adjustments" in history else history["history"][0]
    assert latest["reason"] == "correction"
    assert latest["reference_document_uri"].startswith("gid://shopify-sync/SyncBatch/")


def test_shopify_order_is_counted_once(stack: Stack) -> None:
    """A Shopify order lowers our B2C stock once: inventory webhook and order webhook together."""
    stack.link("p1", "SKU-000002", b2c=20)
    stack.api("POST", "/sync/p1")

    stack.sim("POST", "/orders", json={"line_items": [{"sku": "SKU-000002", "quantity": 3}]})

    wait_for(lambda: stack.ours("p1") == (17, 17), what="the sale to reach our row")
    wait_for(lambda: _processed(stack, "orders/create") >= 1, what="orders/create processed")
    assert stack.available("SKU-000002") == 17
    assert stack.ours("p1") == (17, 17)


def test_merchant_edit_and_duplicate_delivery(stack: Stack) -> None:
    """A merchant's edit in Shopify comes in once even when the webhook is delivered twice."""
    stack.link("p1", "SKU-000003", b2c=10)
    stack.api("POST", "/sync/p1")
    stack.sim("POST", "/faults/webhooks", json={"action": "duplicate", "count": 1})

    stack.sim("POST", "/merchant/adjust", json={"sku": "SKU-000003", "delta": 5})

    wait_for(lambda: stack.ours("p1") == (15, 15), what="the merchant edit")
    wait_for(lambda: _delivered(stack, "inventory_levels/update") >= 3, what="all deliveries")
    assert stack.ours("p1") == (15, 15)


def test_direct_table_write_is_picked_up(stack: Stack) -> None:
    """A bare write to b2c_stock by the Inventory Service reaches Shopify via the pending scan."""
    stack.link("p1", "SKU-000001", b2c=12)
    stack.api("POST", "/sync/p1")

    stack.sql("UPDATE product_inventory SET b2c_stock = 9 WHERE product_id = 'p1'")

    wait_for(lambda: stack.available("SKU-000001") == 9, what="the pending push")
    wait_for(lambda: stack.ours("p1") == (9, 9), what="the agreed base")


def test_outage_then_recovery(stack: Stack) -> None:
    """Shopify down: 502 and sync_error; once it is back the retry pushes and clears the error."""
    stack.link("p1", "SKU-000001", b2c=25)
    stack.sim("POST", "/faults/api", json={"mode": "status", "status": 503, "count": 30})

    response = stack.api("POST", "/sync/p1")
    error = stack.sql("SELECT sync_error FROM product_inventory WHERE product_id = 'p1'")[0][0]
    stack.sim("DELETE", "/faults")

    assert response.status_code == 502
    assert error and "next try at" in error
    wait_for(lambda: stack.available("SKU-000001") == 25, what="the retry")
    wait_for(
        lambda: (
            stack.sql("SELECT sync_error FROM product_inventory WHERE product_id='p1'")[0][0]
            is None
        ),
        what="the error to clear",
    )


def test_lost_response_is_not_counted_twice(stack: Stack) -> None:
    """Shopify applies our write but the answer is lost: the resend replays; nothing doubles."""
    stack.link("p1", "SKU-000002", b2c=30)
    stack.api("POST", "/sync/p1")
    stack.sim("POST", "/orders", json={"line_items": [{"sku": "SKU-000002", "quantity": 1}]})
    stack.sql("UPDATE product_inventory SET b2c_stock = b2c_stock + 5 WHERE product_id = 'p1'")
    stack.sim("POST", "/faults/api", json={"mode": "lose_response", "count": 1, "scope": "graphql",
                                           "match": "inventorySetQuantities"})  # fmt: skip

    stack.api("POST", "/sync/p1")

    wait_for(lambda: stack.available("SKU-000002") == 34, what="the merged value in Shopify")
    wait_for(lambda: stack.ours("p1") == (34, 34), what="our row to agree")


def test_reconcile_repairs_dropped_webhooks(stack: Stack) -> None:
    """Webhooks that never arrive: the dry run lists the difference, /sync/all repairs it."""
    for pid, sku in (("p1", "SKU-000001"), ("p2", "SKU-000002")):
        stack.link(pid, sku, b2c=stack.available(sku), variant_only=False)
        stack.sql(
            "UPDATE product_inventory SET shopify_base = b2c_stock, pool_base = b2c_stock,"
            " allocation_policy = 'split' WHERE product_id = :p",  # as a sync leaves it
            p=pid,
        )
    stack.sim("POST", "/faults/webhooks", json={"action": "drop", "count": 2})
    for sku in ("SKU-000001", "SKU-000002"):
        stack.sim("POST", "/merchant/adjust", json={"sku": sku, "delta": -3})
    expected = (stack.available("SKU-000001"), stack.available("SKU-000002"))

    dry = stack.api("POST", "/sync/all?dry_run=true").json()
    real = stack.api("POST", "/sync/all").json()

    assert [c["change_to_ours"] for c in dry["changes"]] == [-3, -3]
    assert (real["checked"], real["changed"], real["failed"]) == (2, 2, 0)
    assert (stack.ours("p1")[0], stack.ours("p2")[0]) == expected


def test_health(stack: Stack) -> None:
    """GET /health answers 200 with the database and Shopify both ok."""
    body = stack.api("GET", "/health").json()

    assert (body["status"], body["database"], body["shopify"]) == ("ok", "ok", "ok")


def _delivered(stack: Stack, topic: str) -> int:
    """Deliveries of ``topic`` the service answered with a 2xx."""
    return len(stack.sim("GET", f"/webhooks?topic={topic}&status=delivered")["webhooks"])


def _processed(stack: Stack, topic: str) -> int:
    rows = stack.sql("SELECT count(*) FROM webhook_events WHERE topic = :t", t=topic)
    return int(rows[0][0])
