"""Point 2: `@idempotent` replay, mismatch, concurrent, previous-failed and missing keys."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.simulator.harness import SET_MUTATION, Shop


def _variables(shop: Shop, key: str, quantity: int, change_from: int | None) -> dict[str, Any]:
    item, location, _ = shop.first_item()
    return {
        "key": key,
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": item,
                    "locationId": location,
                    "quantity": quantity,
                    "changeFromQuantity": change_from,
                }
            ],
        },
    }


def test_replay_returns_first_result_and_writes_once(shop: Shop) -> None:
    """Resending the same request with the same key returns the first result unchanged."""
    item, location, available = shop.first_item()
    variables = _variables(shop, "replay-1", available + 5, available)

    first = shop.gql(SET_MUTATION, variables)
    second = shop.gql(SET_MUTATION, variables)

    assert second["data"] == first["data"]
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.available(item, location) == available + 5
    assert len(shop.sim.store.history) == 1


def test_same_key_with_other_parameters_is_a_mismatch(shop: Shop) -> None:
    """Reusing a key with different variables gives IDEMPOTENCY_KEY_PARAMETER_MISMATCH."""
    _, _, available = shop.first_item()
    shop.gql(SET_MUTATION, _variables(shop, "mismatch-1", available + 1, available))

    body = shop.gql(SET_MUTATION, _variables(shop, "mismatch-1", available + 2, available))

    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]


def test_retry_after_failed_attempt_needs_a_new_key(shop: Shop) -> None:
    """A key whose first request ended in userErrors answers IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED."""
    _, _, available = shop.first_item()
    variables = _variables(shop, "failed-1", 3, available + 100)
    first = shop.gql(SET_MUTATION, variables)

    second = shop.gql(SET_MUTATION, variables)

    assert first["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "CHANGE_FROM_QUANTITY_STALE"
    )
    assert second["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"
    )


def test_concurrent_request_with_same_key(shop: Shop) -> None:
    """While the first request with a key runs, a second one gets IDEMPOTENCY_CONCURRENT_REQUEST."""
    _, _, available = shop.first_item()
    variables = _variables(shop, "concurrent-1", available + 1, available)
    shop.http.post("/_simulator/faults/latency", json={"ms": 400})
    results: list[dict[str, Any]] = []
    slow = threading.Thread(target=lambda: results.append(shop.gql(SET_MUTATION, variables)))
    slow.start()
    deadline = time.monotonic() + 5
    while not shop.sim.keys.records and time.monotonic() < deadline:
        time.sleep(0.005)

    second = shop.gql(SET_MUTATION, variables)
    slow.join()

    assert second["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "IDEMPOTENCY_CONCURRENT_REQUEST"
    )
    assert results[0]["data"]["inventorySetQuantities"]["userErrors"] == []


def test_missing_key_is_refused_from_2026_04(shop: Shop) -> None:
    """From 2026-04 an inventory mutation without @idempotent fails and writes nothing."""
    item, location, available = shop.first_item()
    query = SET_MUTATION.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    variables = _variables(shop, "unused", available + 1, available)
    del variables["key"]

    refused = shop.gql(query, variables, "2026-04")
    accepted = shop.gql(query, variables, "2026-01")

    assert "data" not in refused
    assert refused["errors"][0]["path"] == ["inventorySetQuantities"]
    assert "@idempotent" in refused["errors"][0]["message"]
    assert accepted["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.available(item, location) == available + 1


def test_blank_key_is_refused(shop: Shop) -> None:
    """An idempotency key of only whitespace is refused."""
    _, _, available = shop.first_item()

    body = shop.gql(SET_MUTATION, _variables(shop, "   ", available, available))

    assert "cannot be an empty string" in body["errors"][0]["message"]


def test_directive_on_other_mutation_is_refused(shop: Shop) -> None:
    """@idempotent only works on mutations that document idempotency support."""
    body = shop.gql(
        'mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") '
        '@idempotent(key: "x") { userErrors { message } } }'
    )

    assert body["errors"][0]["message"] == (
        "The @idempotent directive is not supported on webhookSubscriptionDelete."
    )


def test_lost_response_then_retry_with_same_key_replays(shop: Shop) -> None:
    """A write whose response was lost is applied once; the retry with its key replays it."""
    item, location, available = shop.first_item()
    variables = _variables(shop, "lost-1", available + 2, available)
    shop.http.post(
        "/_simulator/faults/api",
        json={"mode": "lose_response", "status": 502, "match": "inventorySetQuantities"},
    )

    lost = shop.http.post(
        "/admin/api/2026-04/graphql.json", json={"query": SET_MUTATION, "variables": variables}
    )
    retry = shop.gql(SET_MUTATION, variables)

    assert lost.status_code == 502
    assert retry["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.available(item, location) == available + 2
    assert len(shop.sim.store.history) == 1
