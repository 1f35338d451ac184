"""One measured run, in its own process (so its peak RSS is its own): a full reconcile
through ``handlers.reconcile_all``, or the naive per-product baseline.

Prints one JSON line. API calls and cost points are counted at the HTTP boundary (an
httpx transport that reads ``extensions.cost``); time spent waiting on the bucket comes
from the client's own ``shopify_request_paced`` and throttled-retry log events.

The naive baseline does what the seed's worker did for every product: read its level
(one call), write ``b2c_stock`` to Shopify (one single-entry compare-and-set call), record
the new base; one product after another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import orjson
import structlog

from shopify_sync import bootstrap
from shopify_sync.config import load_settings
from shopify_sync.domain.commands import ReconcileAll
from shopify_sync.domain.model import QuantityWrite, SetQuantities
from shopify_sync.services import handlers


class Meter:
    """What the run cost at Shopify's boundary."""

    def __init__(self) -> None:
        self.calls = 0
        self.writes = 0
        self.throttled = 0
        self.points = 0.0
        self.requested = 0.0
        self.paced_s = 0.0
        self.throttle_wait_s = 0.0
        self.other_calls = 0

    def log_event(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        name = event.get("event")
        if name == "shopify_request_paced":
            self.paced_s += float(event.get("wait_s", 0))
        elif name == "shopify_request_retried" and event.get("reason") in (
            "throttled",
            "http_429",
        ):
            self.throttle_wait_s += float(event.get("wait_s", 0))
        raise structlog.DropEvent


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts GraphQL calls and their cost; passes everything else through untouched."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        self._inner = httpx.AsyncHTTPTransport(limits=bootstrap.HTTP_LIMITS)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/graphql.json"):
            self._meter.other_calls += 1
            return response
        body = await response.aread()
        meter = self._meter
        meter.calls += 1
        if b"inventorySetQuantities" in request.content:
            meter.writes += 1
        with_cost = orjson.loads(body) if body[:1] == b"{" else {}
        cost = (with_cost.get("extensions") or {}).get("cost") or {}
        if cost.get("actualQueryCost") is None and cost:
            meter.throttled += 1
        meter.points += float(cost.get("actualQueryCost") or 0)
        meter.requested += float(cost.get("requestedQueryCost") or 0)
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    meter = Meter()
    structlog.configure(processors=[meter.log_event], cache_logger_on_first_use=False)
    settings = load_settings(
        {
            "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
            "SHOPIFY_API_VERSION": args.api_version,
            "SHOPIFY_ACCESS_TOKEN": args.access_token,
            "SHOPIFY_WEBHOOK_SECRET": "shpss_bench",
            "SHOPIFY_LOCATION_ID": str(args.location),
            "SHOPIFY_ADMIN_URL": args.shopify,
            "SYNC_API_TOKEN": "bench-api-token",
            "DATABASE_URL": args.database,
            "AUTO_MIGRATE": "false",
        },
        env_file=None,
    )
    container = await bootstrap.build(settings, migrate=False, transport=CountingTransport(meter))
    started = time.perf_counter()
    try:
        if args.mode == "reconcile":
            summary = await handlers.reconcile_all(
                ReconcileAll(source="bench"), container.uow, container.engine, container.clock
            )
            result: dict[str, Any] = {
                "checked": summary.checked,
                "changed": summary.changed,
                "failed": summary.failed,
            }
        else:
            result = await naive(container, args.limit)
    finally:
        wall_s = time.perf_counter() - started
        await container.aclose()
    return {
        **result,
        "wall_s": round(wall_s, 3),
        "calls": meter.calls,
        "write_calls": meter.writes,
        "other_requests": meter.other_calls,
        "throttled": meter.throttled,
        "points": meter.points,
        "requested_points": meter.requested,
        "bucket_wait_s": round(meter.paced_s + meter.throttle_wait_s, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: Linux carries that
    over from the parent across fork and exec, so it would report the benchmark's own."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def naive(container: bootstrap.Container, limit: int) -> dict[str, Any]:
    """One read and one write per product, as the seed's worker did."""
    async with container.uow() as unit:
        products = await unit.products.syncable(limit=limit)
    store = container.store
    changed = failed = 0
    for product in products:
        assert product.inventory_item_id is not None
        item = product.inventory_item_id
        level = (await store.read_levels([item]))[item]
        assert level.available is not None
        key = str(uuid.uuid4())
        write = SetQuantities(
            key,
            f"gid://bench/Naive/{key}",
            (QuantityWrite(item, product.b2c_stock, level.available),),
        )
        outcome = await store.set_quantities(write)
        if not outcome.applied:
            failed += 1
            continue
        changed += product.b2c_stock != level.available
        async with container.uow() as unit:
            await unit.products.mark_synced([product.product_id], {}, container.clock.now())
            await unit.commit()
    return {"checked": len(products), "changed": changed, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["reconcile", "naive"], default="reconcile")
    parser.add_argument("--database", required=True)
    parser.add_argument("--shopify", required=True)
    parser.add_argument("--location", type=int, required=True)
    parser.add_argument("--access-token", default="shpat_bench")
    parser.add_argument("--api-version", default="2026-10")
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
