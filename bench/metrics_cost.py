"""Benchmark: what the instrumentation costs one webhook delivery, measured in-process.

A shared machine makes two servers' throughput differ by more than the instrumentation
ever could (see ``webhooks.py``'s "vs metrics off"), so this measures the work itself: the
calls an applied ``inventory_levels/update`` makes (``Metrics.webhook`` with its lag, and
``Metrics.pulled``) through the recorders ``serve`` wires (Prometheus and the dashboard's
history), against the no-op recorder of ``METRICS_ENABLED=false``, best of several runs,
in this process's CPU time (``time.process_time``: a neighbour's load on a shared machine
stretches wall time, not the work done). A hot loop: caches stay warm, so this is a floor;
``webhook_profile.py`` measures the same calls inside the running endpoint.

    python bench/metrics_cost.py [--deliveries 200000]
"""

from __future__ import annotations

import argparse
import time

from shopify_sync.adapters.clock import SystemClock
from shopify_sync.adapters.prometheus import PrometheusMetrics
from shopify_sync.services.history import HistoryRecorder
from shopify_sync.services.monitoring import NO_METRICS, MetricsFanOut
from shopify_sync.services.ports import Metrics

TOPIC = "inventory_levels/update"


def per_delivery_us(metrics: Metrics, deliveries: int) -> float:
    """CPU microseconds per delivery's instrumentation, best of five runs."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for n in range(deliveries):
            metrics.webhook(TOPIC, "applied", 0.25 + (n % 7) / 10)
            metrics.pulled(1, "webhook")
        best = min(best, time.process_time() - started)
    return best / deliveries * 1e6


def per_call_us(metrics: Metrics, calls: int) -> float:
    """CPU microseconds per Shopify call's instrumentation (as a re-read's ``ReadLevels``
    counts it: the call and its cost), best of five runs."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for n in range(calls):
            metrics.shopify_call("ReadLevels", "ok", 0.05 + (n % 7) / 100)
            metrics.shopify_cost(12.0, 988.0)
        best = min(best, time.process_time() - started)
    return best / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    args = parser.parse_args()
    clock = SystemClock()
    wired = MetricsFanOut(PrometheusMetrics(clock), HistoryRecorder(clock))
    off = per_delivery_us(NO_METRICS, args.deliveries)
    on = per_delivery_us(wired, args.deliveries)
    prometheus = per_delivery_us(PrometheusMetrics(clock), args.deliveries)
    history = per_delivery_us(HistoryRecorder(clock), args.deliveries)
    print(
        f"instrumentation per applied delivery, {args.deliveries:,} deliveries, "
        "CPU time, best of 5:"
    )
    print(f"  metrics off (no-op recorder)      {off:6.2f} µs")
    print(f"  Prometheus only                   {prometheus:6.2f} µs")
    print(f"  dashboard history only            {history:6.2f} µs")
    print(f"  both, as serve wires them         {on:6.2f} µs  (+{on - off:.2f} µs over off)")
    call_off = per_call_us(NO_METRICS, args.deliveries)
    call_on = per_call_us(wired, args.deliveries)
    print("instrumentation per Shopify call (a re-read or a write), CPU time, best of 5:")
    print(f"  metrics off (no-op recorder)      {call_off:6.2f} µs")
    print(
        f"  both, as serve wires them         {call_on:6.2f} µs  "
        f"(+{call_on - call_off:.2f} µs over off)"
    )


if __name__ == "__main__":
    main()
