"""``GET /metrics`` through the real app: access, the counters a delivery moves, the
figures read from the database, and a scrape while the database is down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.monitoring import StatesReader
from tests.factories import UNREACHABLE
from tests.fakes import FakeClock, FakeStoreClient
from tests.integration.web.conftest import TOKEN, Harness, builder, make_settings
from tests.integration.web.test_app import add_product, level, webhook

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(h: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = h.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    return samples(response.text)


def test_a_scrape_without_token_from_elsewhere_is_401(harness: Harness) -> None:
    """A scrape from outside the allowed networks without the token is refused."""
    response = harness.client.get("/metrics")

    assert response.status_code == 401 and "METRICS_ALLOWED_NETWORKS" in response.text


def test_a_scrape_from_an_allowed_network_needs_no_token(tmp_path: Path) -> None:
    """A scrape from an address in METRICS_ALLOWED_NETWORKS is answered without the token."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", METRICS_ALLOWED_NETWORKS="10.0.0.0/8"
    )
    clock = FakeClock()
    app = create_app(settings, builder=builder(FakeStoreClient(clock), clock), run_worker=False)
    with TestClient(app, client=("10.1.2.3", 5000)) as inside:
        allowed = inside.get("/metrics")
    with TestClient(app, client=("192.168.1.2", 5000)) as outside:
        refused = outside.get("/metrics")

    assert (allowed.status_code, refused.status_code) == (200, 401)


def test_deliveries_are_counted_by_topic_and_outcome(harness: Harness) -> None:
    """An applied delivery, its duplicate and a bad signature each move their counter,
    and the applied one's lag since Shopify's trigger is observed."""
    _, item = add_product(harness, ours=5, base=5, shopify=5)
    harness.clock.current = harness.clock.current.replace(hour=10, minute=0, second=2)
    path, topic = "/webhooks/inventory-update", "inventory_levels/update"
    webhook(harness, path, level(item, 3), topic=topic, event="e1")
    webhook(harness, path, level(item, 3), topic=topic, event="e1")
    webhook(harness, path, level(item, 3), topic=topic, event="e2", signature="bad")

    got = scrape(harness)

    name = "shopify_sync_webhook_deliveries_total"
    assert [got[(name, (("outcome", o), ("topic", topic)))] for o in
            ("applied", "duplicate", "bad_signature")] == [1.0, 1.0, 1.0]  # fmt: skip
    assert got[("shopify_sync_webhook_lag_seconds_count", (("topic", topic),))] == 1.0
    assert got[("shopify_sync_webhook_lag_seconds_sum", (("topic", topic),))] == 2.0
    assert got[("shopify_sync_pulled_changes_total", (("via", "webhook"),))] == 1.0


def test_our_own_write_coming_back_is_applied_but_not_pulled(harness: Harness) -> None:
    """A level equal to the agreed base (Shopify's echo of our own write) counts as an
    applied delivery and no pulled change; a level that moves our stock counts one."""
    _, echoed = add_product(harness, ours=5, base=5, shopify=5)
    _, moved = add_product(harness, ours=5, base=5, shopify=5)
    path, topic = "/webhooks/inventory-update", "inventory_levels/update"
    webhook(harness, path, level(echoed, 5), topic=topic, event="e1")
    webhook(harness, path, level(moved, 4), topic=topic, event="e2")

    got = scrape(harness)

    applied = ("shopify_sync_webhook_deliveries_total", (("outcome", "applied"), ("topic", topic)))
    assert got[applied] == 2.0
    assert got[("shopify_sync_pulled_changes_total", (("via", "webhook"),))] == 1.0


def test_a_push_is_counted_with_its_latency(harness: Harness) -> None:
    """POST /sync/{id} that writes to Shopify counts one pushed change and its latency."""
    pid, _ = add_product(harness, ours=7, base=5, shopify=5)
    harness.client.post(f"/sync/{pid}", headers=AUTH)

    got = scrape(harness)

    assert got[("shopify_sync_pushed_changes_total", ())] == 1.0
    assert got[("shopify_sync_push_latency_seconds_count", ())] == 1.0


def test_database_figures_count_products_by_state(harness: Harness) -> None:
    """The products gauge puts each product in one state, and the database is up."""
    add_product(harness, ours=5, base=5, shopify=5)
    add_product(harness, ours=6, base=5, shopify=5)
    add_product(harness, ours=1, base=None, shopify=None, enabled=False)
    add_product(harness, ours=1, base=None, shopify=None, linked=False)

    got = scrape(harness)

    states = {
        dict(labels)["state"]: value
        for (name, labels), value in got.items()
        if name == "shopify_sync_products"
    }
    assert states == {
        "in_sync": 1.0, "pending": 1.0, "error": 0.0, "parked": 0.0, "disabled": 1.0,
        "unlinked": 1.0,
    }  # fmt: skip
    assert got[("shopify_sync_database_up", ())] == 1.0
    assert got[("shopify_sync_oldest_error_age_seconds", ())] == 0.0


def test_a_failed_sync_ages_the_oldest_error(harness: Harness) -> None:
    """A product whose sync failed counts as in error, and its error ages with the clock."""
    from tests.fakes import unavailable

    pid, _ = add_product(harness, ours=7, base=5, shopify=5)
    harness.store.fail_next = [unavailable()] * 10
    harness.client.post(f"/sync/{pid}", headers=AUTH)
    harness.clock.advance(90)

    got = scrape(harness)

    assert got[("shopify_sync_products", (("state", "error"),))] == 1.0
    assert got[("shopify_sync_oldest_error_age_seconds", ())] == 90.0
    assert got[("shopify_sync_sync_failures_total", ())] == 1.0


def test_a_scrape_while_the_database_is_down_answers_without_its_figures(
    harness: Harness,
) -> None:
    """With the database unreachable a scrape is still 200: the process's counters, the
    database marked down, and no product figures."""
    broken = create_engine(UNREACHABLE)
    harness.container.states = StatesReader(SqlUnitOfWorkFactory(broken), harness.clock)

    got = scrape(harness)
    harness.client.portal.call(broken.dispose)  # type: ignore[union-attr]

    assert got[("shopify_sync_database_up", ())] == 0.0
    assert not any(name == "shopify_sync_products" for name, _ in got)
    assert ("shopify_sync_shopify_outage_pause", ()) in got


def test_database_figures_are_read_once_per_interval(harness: Harness) -> None:
    """Scrapes within the cache interval reuse one read; after it a new product shows."""
    add_product(harness, ours=5, base=5, shopify=5)
    first = scrape(harness)
    add_product(harness, ours=5, base=5, shopify=5)
    cached = scrape(harness)
    harness.clock.current += timedelta(seconds=10)

    fresh = scrape(harness)

    key = ("shopify_sync_products", (("state", "in_sync"),))
    assert (first[key], cached[key], fresh[key]) == (1.0, 1.0, 2.0)


@pytest.fixture(name="metrics_off")
def _metrics_off(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'off.db'}", METRICS_ENABLED="false")
    clock = FakeClock()
    app = create_app(settings, builder=builder(FakeStoreClient(clock), clock), run_worker=False)
    with TestClient(app) as client:
        yield client


def test_metrics_turned_off_is_404(metrics_off: TestClient) -> None:
    """With METRICS_ENABLED=false there is no /metrics page."""
    response = metrics_off.get("/metrics", headers=AUTH)

    assert response.status_code == 404 and "METRICS_ENABLED" in response.text
