"""``GET /metrics`` of the service running against the local Shopify simulator over real
HTTP, on SQLite and PostgreSQL: what a scrape shows after a push, Shopify's echo of it and
a merchant's edit delivered twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.service.stack import Stack, running_stack, wait_for

INVENTORY = "inventory_levels/update"


@pytest.fixture(name="stack")
def _stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as stack:
        stack.subscribe_webhooks()
        yield stack


def scrape(stack: Stack) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the service's /metrics by name and labels."""
    response = stack.api("GET", "/metrics")
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> float:
    """The sum of ``name``'s samples over all their labels."""
    return sum(value for (n, _), value in samples.items() if n == name)


def delivered(stack: Stack) -> int:
    """inventory_levels/update deliveries the service answered with a 2xx."""
    return len(stack.sim("GET", f"/webhooks?topic={INVENTORY}&status=delivered")["webhooks"])


def test_a_scrape_counts_what_the_running_stack_did(stack: Stack) -> None:
    """One push (counted with its latency), its echo and a merchant's edit applied, the
    edit's second delivery a duplicate, one change pulled (the echo moves nothing), Shopify
    calls and the cost they spent, and the product in sync from the database."""
    stack.link("p1", "SKU-000003", b2c=10)
    stack.api("POST", "/sync/p1")
    wait_for(lambda: delivered(stack) >= 1, what="the echo of our push")
    stack.sim("POST", "/faults/webhooks", json={"action": "duplicate", "count": 1})

    stack.sim("POST", "/merchant/adjust", json={"sku": "SKU-000003", "delta": 5})

    wait_for(lambda: stack.ours("p1") == (15, 15), what="the merchant's edit")
    wait_for(lambda: delivered(stack) >= 3, what="every delivery")
    got = scrape(stack)
    deliveries = "shopify_sync_webhook_deliveries_total"
    assert got[(deliveries, frozenset({("topic", INVENTORY), ("outcome", "applied")}))] == 2
    assert got[(deliveries, frozenset({("topic", INVENTORY), ("outcome", "duplicate")}))] == 1
    assert got[("shopify_sync_webhook_lag_seconds_count", frozenset({("topic", INVENTORY)}))] == 2
    assert total(got, "shopify_sync_pulled_changes_total") == 1
    assert total(got, "shopify_sync_pushed_changes_total") == 1
    assert total(got, "shopify_sync_push_latency_seconds_count") == 1
    ok_calls = sum(
        value
        for (name, labels), value in got.items()
        if name == "shopify_sync_shopify_calls_total" and ("outcome", "ok") in labels
    )
    assert ok_calls >= 2 and total(got, "shopify_sync_shopify_cost_points_total") > 0
    assert got[("shopify_sync_database_up", frozenset())] == 1
    assert got[("shopify_sync_products", frozenset({("state", "in_sync")}))] == 1
