"""Adapter: the ``Metrics`` port on the official Prometheus client, and the ``/metrics`` page.

Naming follows Prometheus' conventions: one ``shopify_sync_`` prefix, base units in the
name (``_seconds``), counters ending in ``_total``; labels are small closed sets (topics,
outcomes, operation names), never a product or SKU, so cardinality stays bounded whatever
the catalogue. Each process has its own registry and counters (scrape every process);
the figures read from the database (``ProductStates``) are the same on every process.

The webhook path (deliveries, their lag, changes pulled) counts into plain ints and
floats, with no lock, no label lookup and no metric object per call; those families are
built from the ints when a scrape collects them (``_HotFigures``). Everything else is
counted rarely (per Shopify call, per reconcile) and uses the client's metric objects.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from shopify_sync.domain.model import PRODUCT_STATES, ProductStates
from shopify_sync.services.ports import Clock

PREFIX = "shopify_sync"
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Webhook lag and push latency: from tens of milliseconds to a quarter of an hour."""
CALL_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RECONCILE_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class _DatabaseFigures(Collector):
    """The figures read from the database at scrape time (set just before rendering)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.states: ProductStates | None = None

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            f"{PREFIX}_database_up",
            "1 when this scrape could read the database; 0 marks the product figures unavailable",
        )
        up.add_metric([], 0.0 if self.states is None else 1.0)
        yield up
        if self.states is None:
            return
        yield from self._figures(self.states)

    def _figures(self, states: ProductStates) -> Iterator[Metric]:
        products = GaugeMetricFamily(
            f"{PREFIX}_products",
            "Products by sync state, read from the database (the same on every process)",
            labels=["state"],
        )
        for state in PRODUCT_STATES:
            products.add_metric([state], float(states.counts.get(state, 0)))
        yield products
        now = self._clock.now()
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_error_age_seconds",
            "Age of the longest-standing unresolved sync error; 0 without errors",
        )
        since = states.oldest_error_since
        oldest.add_metric([], 0.0 if since is None else max((now - since).total_seconds(), 0.0))
        yield oldest
        if states.last_reconcile_ok_at is not None:
            last = GaugeMetricFamily(
                f"{PREFIX}_reconcile_last_success_timestamp_seconds",
                "When the last reconcile that ended without an error finished (Unix time)",
            )
            last.add_metric([], states.last_reconcile_ok_at.timestamp())
            yield last


_LAG_LE: list[str] = [
    floatToGoString(b)  # type: ignore[no-untyped-call]  # unannotated upstream
    for b in LATENCY_BUCKETS_S
] + ["+Inf"]


class _HotFigures(Collector):
    """Figures counted on every webhook delivery, in plain numbers (cheaper than the
    client's locked values and label lookups; a scrape and a delivery run on the same event
    loop), exposed as the counter or histogram families the client would expose.

    ``family`` picks which this collector yields, so that each keeps its place on the page.
    """

    def __init__(self, family: str, figures: _Hot) -> None:
        self._family = family
        self._figures = figures

    def collect(self) -> Iterable[Metric]:
        f = self._figures
        if self._family == "deliveries":
            deliveries = CounterMetricFamily(
                f"{PREFIX}_webhook_deliveries",
                "Webhook deliveries answered, by topic and outcome",
                labels=["topic", "outcome"],
            )
            for topic, outcomes in f.deliveries.items():
                for outcome, count in outcomes.items():
                    deliveries.add_metric([topic, outcome], float(count))
            yield deliveries
        elif self._family == "lag":
            lag = HistogramMetricFamily(
                f"{PREFIX}_webhook_lag_seconds",
                "From Shopify's X-Shopify-Triggered-At to our commit, for applied deliveries",
                labels=["topic"],
            )
            for topic, counts in f.lags.items():
                cumulative, buckets = 0.0, []
                for le, count in zip(_LAG_LE, counts, strict=False):
                    cumulative += count
                    buckets.append((le, cumulative))
                lag.add_metric([topic], buckets, f.lag_sums[topic])
            yield lag
        else:
            pulled = CounterMetricFamily(
                f"{PREFIX}_pulled_changes",
                "Shopify-side changes taken into our rows, by path (webhook or sync)",
                labels=["via"],
            )
            for via, count in f.pulled.items():
                pulled.add_metric([via], float(count))
            yield pulled


class _Hot:
    """The plain numbers behind ``_HotFigures``."""

    __slots__ = ("deliveries", "lag_sums", "lags", "pulled")

    def __init__(self) -> None:
        self.deliveries: dict[str, dict[str, int]] = {}
        """Topic -> outcome -> deliveries."""
        self.lags: dict[str, list[int]] = {}
        """Topic -> observations per lag bucket (not cumulative), +Inf last."""
        self.lag_sums: dict[str, float] = {}
        self.pulled: dict[str, int] = {}


class PrometheusMetrics:
    """Implements the ``Metrics`` port and renders the exposition (``MetricsPage``)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, clock: Clock) -> None:
        # The ``_created`` series (one per counter and histogram) double the page for a
        # timestamp Prometheus does not use; the switch is process-wide and idempotent.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream
        self.registry = CollectorRegistry(auto_describe=True)
        self._database = _DatabaseFigures(clock)
        self.registry.register(self._database)
        r = self.registry
        self._hot = _Hot()
        self.registry.register(_HotFigures("deliveries", self._hot))
        self.registry.register(_HotFigures("lag", self._hot))
        self._pushed = Counter(
            f"{PREFIX}_pushed_changes",
            "Changes of ours (products) Shopify acknowledged",
            registry=r,
        )
        self._push_latency = Histogram(
            f"{PREFIX}_push_latency_seconds",
            "From the sync picking a change of ours up to Shopify's acknowledgement, per write",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.registry.register(_HotFigures("pulled", self._hot))
        self._failures = Counter(
            f"{PREFIX}_sync_failures",
            "Failed sync attempts of products (each records its error and next try)",
            registry=r,
        )
        self._calls = Counter(
            f"{PREFIX}_shopify_calls",
            "Calls to Shopify's Admin API by operation and outcome, retries included",
            ["operation", "outcome"],
            registry=r,
        )
        self._call_duration = Histogram(
            f"{PREFIX}_shopify_call_duration_seconds",
            "Duration of a call to Shopify, retries and waits included",
            ["operation"],
            buckets=CALL_BUCKETS_S,
            registry=r,
        )
        self._cost = Counter(
            f"{PREFIX}_shopify_cost_points",
            "Cost points Shopify charged (actualQueryCost)",
            registry=r,
        )
        self._waited = Counter(
            f"{PREFIX}_shopify_throttle_wait_seconds",
            "Time calls waited for Shopify's cost bucket (pacing and throttling)",
            registry=r,
        )
        self._bucket = Gauge(
            f"{PREFIX}_shopify_bucket_available_points",
            "Points left in Shopify's cost bucket, as last reported",
            registry=r,
        )
        self._outage = Gauge(
            f"{PREFIX}_shopify_outage_pause",
            "1 while calls to Shopify are paused after an outage, else 0",
            registry=r,
        )
        self._renewals = Counter(
            f"{PREFIX}_shopify_token_renewals",
            "Access token renewals by outcome (client credentials grant)",
            ["outcome"],
            registry=r,
        )
        self._sign_ins = Counter(
            f"{PREFIX}_admin_sign_ins",
            "Admin sign-in attempts by outcome: ok, failed, throttled (refused unchecked)",
            ["outcome"],
            registry=r,
        )
        self._runs = Counter(
            f"{PREFIX}_reconcile_runs",
            "Full reconciles run by this process, by outcome",
            ["outcome"],
            registry=r,
        )
        self._run_duration = Histogram(
            f"{PREFIX}_reconcile_duration_seconds",
            "Duration of a full reconcile",
            buckets=RECONCILE_BUCKETS_S,
            registry=r,
        )
        self._last_run = Gauge(
            f"{PREFIX}_reconcile_last_products",
            "What the last reconcile of this process found: products checked, pushed "
            "(changed on our side), pulled (changed on Shopify's side), failed",
            ["result"],
            registry=r,
        )
        self._call_children: dict[tuple[str, str], Counter] = {}
        self._duration_children: dict[str, Histogram] = {}

    # -- the Metrics port ---------------------------------------------------------------------

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        """Count a delivery; observe its lag when it was applied (on every delivery: plain
        dictionary additions, no lock, no allocation past the first of each label set)."""
        hot = self._hot
        outcomes = hot.deliveries.get(topic)
        if outcomes is None:
            outcomes = hot.deliveries[topic] = {}
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if lag_s is not None:
            counts = hot.lags.get(topic)
            if counts is None:
                counts = hot.lags[topic] = [0] * (len(LATENCY_BUCKETS_S) + 1)
                hot.lag_sums[topic] = 0.0
            lag = lag_s if lag_s > 0.0 else 0.0
            counts[bisect_left(LATENCY_BUCKETS_S, lag)] += 1
            hot.lag_sums[topic] += lag

    def pushed(self, products: int, latency_s: float | None) -> None:
        """Count acknowledged changes and the write's latency."""
        self._pushed.inc(products)
        if latency_s is not None:
            self._push_latency.observe(max(latency_s, 0.0))

    def pulled(self, products: int, via: str) -> None:
        """Count Shopify-side changes taken in."""
        pulled = self._hot.pulled
        pulled[via] = pulled.get(via, 0) + products

    def sync_failed(self, products: int) -> None:
        """Count failed attempts."""
        self._failures.inc(products)

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        """Count a call and observe its duration (label children resolved once per label
        set: a re-read or a write pays no label lookup)."""
        key = (operation, outcome)
        calls = self._call_children.get(key)
        if calls is None:
            calls = self._call_children[key] = self._calls.labels(operation, outcome)
        calls.inc()
        if outcome != "paused":
            duration = self._duration_children.get(operation)
            if duration is None:
                duration = self._duration_children[operation] = self._call_duration.labels(
                    operation
                )
            duration.observe(duration_s)

    def shopify_cost(self, points: float, available: float | None) -> None:
        """Count the points charged; remember the bucket's level."""
        self._cost.inc(max(points, 0.0))
        if available is not None:
            self._bucket.set(available)

    def shopify_waited(self, seconds: float) -> None:
        """Count time spent waiting for the bucket."""
        self._waited.inc(max(seconds, 0.0))

    def outage_pause(self, on: bool) -> None:
        """Set the outage pause gauge."""
        self._outage.set(1.0 if on else 0.0)

    def token_renewed(self, outcome: str) -> None:
        """Count a token renewal."""
        self._renewals.labels(outcome).inc()

    def sign_in(self, outcome: str) -> None:
        """Count an admin sign-in attempt."""
        self._sign_ins.labels(outcome).inc()

    def reconciled(
        self,
        *,
        ok: bool,
        duration_s: float,
        checked: int,
        pushed: int,
        pulled: int,
        failed: int,
    ) -> None:
        """Count a reconcile and keep what it found."""
        self._runs.labels("ok" if ok else "failed").inc()
        self._run_duration.observe(duration_s)
        for result, value in (
            ("checked", checked),
            ("pushed", pushed),
            ("pulled", pulled),
            ("failed", failed),
        ):
            self._last_run.labels(result).set(value)

    # -- the MetricsPage port ---------------------------------------------------------------

    def render(self, states: ProductStates | None) -> bytes:
        """The text exposition; ``states`` None marks the product figures unavailable."""
        self._database.states = states
        return generate_latest(self.registry)
