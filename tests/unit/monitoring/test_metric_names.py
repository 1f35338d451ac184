"""The Prometheus recorder: every family the issue asks for, named by Prometheus'
conventions, with labels from small closed sets only."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from shopify_sync.adapters.prometheus import PrometheusMetrics
from shopify_sync.domain.model import PRODUCT_STATES, ProductStates
from shopify_sync.services.ports import Metrics, MetricsPage
from tests.fakes import FakeClock

FAMILIES = {
    "shopify_sync_webhook_deliveries": "counter",
    "shopify_sync_webhook_lag_seconds": "histogram",
    "shopify_sync_pushed_changes": "counter",
    "shopify_sync_push_latency_seconds": "histogram",
    "shopify_sync_pulled_changes": "counter",
    "shopify_sync_sync_failures": "counter",
    "shopify_sync_shopify_calls": "counter",
    "shopify_sync_shopify_call_duration_seconds": "histogram",
    "shopify_sync_shopify_cost_points": "counter",
    "shopify_sync_shopify_throttle_wait_seconds": "counter",
    "shopify_sync_shopify_bucket_available_points": "gauge",
    "shopify_sync_shopify_outage_pause": "gauge",
    "shopify_sync_shopify_token_renewals": "counter",
    "shopify_sync_reconcile_runs": "counter",
    "shopify_sync_reconcile_duration_seconds": "histogram",
    "shopify_sync_reconcile_last_products": "gauge",
    "shopify_sync_reconcile_last_success_timestamp_seconds": "gauge",
    "shopify_sync_products": "gauge",
    "shopify_sync_oldest_error_age_seconds": "gauge",
    "shopify_sync_database_up": "gauge",
    "shopify_sync_admin_sign_ins": "counter",
}


def exercised(clock: FakeClock) -> PrometheusMetrics:
    """A recorder that every port method was called on."""
    metrics = PrometheusMetrics(clock)
    port: Metrics = metrics
    port.webhook("inventory_levels/update", "applied", 1.5)
    port.webhook("orders/create", "bad_signature")
    port.pushed(3, 0.8)
    port.pulled(2, "sync")
    port.sync_failed(4)
    port.shopify_call("ReadLevels", "ok", 0.2)
    port.shopify_call("SetAvailable", "paused", 0.0)
    port.shopify_cost(12.0, 988.0)
    port.shopify_waited(0.5)
    port.outage_pause(True)
    port.token_renewed("ok")
    port.reconciled(ok=True, duration_s=4.0, checked=10, pushed=2, pulled=1, failed=0)
    return metrics


def families(metrics: MetricsPage, states: ProductStates | None) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render(states).decode())}


def test_every_family_is_exposed_with_its_type() -> None:
    """Each family of the issue is exposed, with the type its name promises."""
    clock = FakeClock()
    states = ProductStates(
        dict.fromkeys(PRODUCT_STATES, 1), clock.now() - timedelta(minutes=5), clock.now()
    )

    found = families(exercised(clock), states)

    assert {name: f.type for name, f in found.items()} == FAMILIES  # type: ignore[attr-defined]


def test_names_follow_prometheus_conventions() -> None:
    """One prefix, counters end in _total, durations in _seconds, and no label names a
    product or a SKU."""
    clock = FakeClock()
    states = ProductStates(dict.fromkeys(PRODUCT_STATES, 0), None, None)

    found = families(exercised(clock), states)
    samples = [s for f in found.values() for s in f.samples]  # type: ignore[attr-defined]

    assert all(name.startswith("shopify_sync_") for name in found)
    assert all(
        s.name.endswith("_total")
        for f in found.values()
        if f.type == "counter"  # type: ignore[attr-defined]
        for s in f.samples  # type: ignore[attr-defined]
    )
    assert all(name.endswith("_seconds") for name in found if "duration" in name or "lag" in name)
    assert {label for s in samples for label in s.labels} <= {
        "topic", "outcome", "via", "operation", "state", "result", "le",
    }  # fmt: skip


def test_the_oldest_error_age_is_measured_on_the_clock() -> None:
    """The age of the oldest error is now minus when it began, in seconds."""
    clock = FakeClock()
    states = ProductStates(dict.fromkeys(PRODUCT_STATES, 0), clock.now(), None)
    metrics = PrometheusMetrics(clock)
    clock.advance(125)

    found = families(metrics, states)

    age = found["shopify_sync_oldest_error_age_seconds"]
    assert [s.value for s in age.samples] == [125.0]  # type: ignore[attr-defined]


def test_without_the_database_only_its_up_gauge_is_shown() -> None:
    """States None: database_up is 0 and no product figure is exposed."""
    found = families(PrometheusMetrics(FakeClock()), None)

    up = found["shopify_sync_database_up"]
    assert [s.value for s in up.samples] == [0.0]  # type: ignore[attr-defined]
    assert "shopify_sync_products" not in found


def test_the_outage_pause_gauge_follows_the_pause() -> None:
    """outage_pause(True) then (False) sets the gauge to 1 then back to 0."""
    metrics = PrometheusMetrics(FakeClock())
    metrics.outage_pause(True)
    on = families(metrics, None)["shopify_sync_shopify_outage_pause"]
    metrics.outage_pause(False)
    off = families(metrics, None)["shopify_sync_shopify_outage_pause"]

    assert [s.value for s in on.samples] == [1.0]  # type: ignore[attr-defined]
    assert [s.value for s in off.samples] == [0.0]  # type: ignore[attr-defined]


def test_the_lag_histogram_counts_each_delivery_in_its_bucket_and_above() -> None:
    """Lag buckets are cumulative and inclusive (a lag equal to a bound is in that bucket),
    a negative lag (clocks apart) counts as 0, and count and sum follow the observations."""
    metrics = PrometheusMetrics(FakeClock())
    for lag in (0.05, 0.3, -2.0, 1000.0):
        metrics.webhook("inventory_levels/update", "applied", lag)
    metrics.webhook("inventory_levels/update", "duplicate")

    found = families(metrics, None)

    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in found["shopify_sync_webhook_lag_seconds"].samples  # type: ignore[attr-defined]
    }
    assert {le: samples[("shopify_sync_webhook_lag_seconds_bucket", le)]
            for le in ("0.05", "0.25", "0.5", "900.0", "+Inf")} == {
        "0.05": 2.0, "0.25": 2.0, "0.5": 3.0, "900.0": 3.0, "+Inf": 4.0,
    }  # fmt: skip
    assert samples[("shopify_sync_webhook_lag_seconds_count", None)] == 4.0
    assert samples[("shopify_sync_webhook_lag_seconds_sum", None)] == 1000.35
    deliveries = found["shopify_sync_webhook_deliveries"]
    assert sorted((s.labels["outcome"], s.value) for s in deliveries.samples) == [  # type: ignore[attr-defined]
        ("applied", 4.0), ("duplicate", 1.0),
    ]  # fmt: skip
