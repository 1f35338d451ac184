"""Benchmark: the webhook endpoint in-process, metrics on against ``METRICS_ENABLED=false``.

Two apps as ``serve`` builds them (``create_app`` and the real container, each on its own
SQLite database seeded with linked products), driven through ASGI in this one process by
``--concurrency`` tasks posting signed ``inventory_levels/update`` deliveries (each a newer
level that is applied, a unique event id, and Shopify's ``X-Shopify-Triggered-At``, so the lag histogram is
observed too; ``--no-lag`` leaves that header out, as ``webhooks.py`` does). No sockets, no
uvicorn and no background worker: what differs between the two apps is what the metrics
switch turns on, on the request path.

The two apps take turns for ``--rounds`` rounds. Two figures per round: this process's CPU
time per delivery (``time.process_time``: a neighbour's load slows a round's wall time, not
the work it does; still noisy at a few µs on a shared machine), and the CPU time spent
inside the instrumentation call itself (``webhooks._count``, timed with this thread's CPU
clock around each call: the steadier figure; the timer's own cost, about a microsecond, is
in both apps' figures). ``--profile on|off`` runs cProfile over one more round of that app
and prints the functions that cost most.

    python bench/webhook_profile.py [--deliveries 4000] [--rounds 6] [--profile on]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from harness import WEBHOOK_SECRET, insert_products

from shopify_sync import bootstrap
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import upgrade_engine
from shopify_sync.adapters.shopify.webhooks import sign
from shopify_sync.config import load_settings
from shopify_sync.entrypoints.web import webhooks
from shopify_sync.entrypoints.web.app import create_app

LOCATION = 7001
PATH = "/webhooks/inventory-update"
Send = Callable[[int], Any]
INSIDE = {"ns": 0, "calls": 0}
"""Thread CPU time spent in ``webhooks._count`` since the last reset, and its calls."""
_count = webhooks._count


def _timed_count(*args: Any) -> None:
    started = time.thread_time_ns()
    _count(*args)
    INSIDE["ns"] += time.thread_time_ns() - started
    INSIDE["calls"] += 1


webhooks._count = _timed_count  # type: ignore[assignment]  # the same call, timed


async def _database(url: str, products: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    now = datetime.now(UTC)
    rows = [
        {
            "product_id": f"P{n:07d}",
            "sku": f"SKU-{n}",
            "title": f"SKU-{n}",
            "b2b_stock": 100,
            "b2c_stock": 10,
            "shopify_variant_id": str(90_000 + n),
            "shopify_inventory_item_id": 50_000 + n,
            "sync_enabled": True,
            "shopify_base": 10,
            "shopify_seen_at": now - timedelta(days=1),
            "last_synced_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, products + 1)
    ]
    await insert_products(url, rows)


@asynccontextmanager
async def endpoint(
    folder: Path, name: str, products: int, metrics: bool, *, lag: bool = True
) -> AsyncIterator[Send]:
    """A running app (lifespan entered, no worker); yields ``send(n)``, which posts the
    ``n``-th delivery and returns its status."""
    url = f"sqlite+aiosqlite:///{folder / name}.db"
    await _database(url, products)
    env = {
        "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
        "SHOPIFY_ACCESS_TOKEN": "shpat_bench",
        "SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SHOPIFY_LOCATION_ID": str(LOCATION),
        "SHOPIFY_ADMIN_URL": "http://127.0.0.1:9",
        "SYNC_API_TOKEN": "bench-token-0123456789",
        "DATABASE_URL": url,
        "AUTO_MIGRATE": "false",
        "METRICS_ENABLED": "true" if metrics else "false",
        "LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env, env_file=None)
    app = create_app(settings, run_worker=False)
    # Each product's levels one second apart, after the seeded shopify_seen_at (a day ago)
    # and never ahead of our clock: every delivery is applied (a level dated ahead of the
    # clock is re-read from Shopify instead, another path).
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)

    async def send(n: int) -> int:
        item = 50_000 + 1 + n % products
        at = (start + timedelta(seconds=n // products + 1)).isoformat().replace("+00:00", "Z")
        body = orjson.dumps(
            {
                "inventory_item_id": item,
                "location_id": LOCATION,
                "available": 10 + n % 7,
                "updated_at": at,
                "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATION}?"
                f"inventory_item_id={item}",
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-shopify-topic", b"inventory_levels/update"),
            (b"x-shopify-hmac-sha256", sign(body, WEBHOOK_SECRET).encode()),
            (b"x-shopify-shop-domain", b"demo.myshopify.com"),
            (b"x-shopify-api-version", b"2026-10"),
            (b"x-shopify-event-id", f"{name}-{n}".encode()),
            (b"x-shopify-webhook-id", f"{name}-w-{n}".encode()),
        ]
        if lag:
            headers.append((b"x-shopify-triggered-at", at.encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
            "root_path": "", "query_string": b"", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
        }  # fmt: skip
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def respond(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, respond)
        return status

    async with app.router.lifespan_context(app):
        yield send


async def drive(send: Send, first: int, count: int, concurrency: int) -> float:
    """Post deliveries ``first .. first + count`` from ``concurrency`` tasks; CPU seconds."""
    statuses: list[int] = []

    async def client(lane: int) -> None:
        for n in range(first + lane, first + count, concurrency):
            statuses.append(await send(n))

    gc.collect()
    INSIDE.update(ns=0, calls=0)
    cpu = time.process_time()
    await asyncio.gather(*(client(lane) for lane in range(concurrency)))
    cpu = time.process_time() - cpu
    bad = [s for s in statuses if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} deliveries not answered 200 (e.g. {bad[0]})")
    return cpu


async def run(args: argparse.Namespace) -> None:
    bootstrap.configure_logging("WARNING", enabled=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with (
            endpoint(folder, "on", args.products, True, lag=not args.no_lag) as on,
            endpoint(folder, "off", args.products, False, lag=not args.no_lag) as off,
        ):
            apps = {"metrics on": on, "metrics off": off}
            sent = 0
            for send in apps.values():  # warm-up: imports, caches, prepared statements
                await drive(send, sent, 500, args.concurrency)
            sent += 500
            costs: dict[str, list[float]] = {name: [] for name in apps}
            inside: dict[str, list[float]] = {name: [] for name in apps}
            for r in range(args.rounds):
                order = list(apps.items()) if r % 2 == 0 else list(reversed(apps.items()))
                for name, send in order:
                    cpu = await drive(send, sent, args.deliveries, args.concurrency)
                    costs[name].append(cpu / args.deliveries * 1e6)
                    inside[name].append(INSIDE["ns"] / max(INSIDE["calls"], 1) / 1000)
                sent += args.deliveries
            ratios = sorted(
                a / b for a, b in zip(costs["metrics on"], costs["metrics off"], strict=True)
            )
            print(
                f"webhook endpoint in-process (ASGI, SQLite, {args.concurrency} concurrent, "
                f"{args.deliveries:,} deliveries a round, {args.rounds} rounds, on/off "
                "alternating): CPU µs per delivery"
            )
            for name, values in costs.items():
                print(
                    f"  {name:12} median {statistics.median(values):6.1f}  "
                    f"min {min(values):6.1f}  max {max(values):6.1f}"
                )
            on_us, off_us = (statistics.median(costs[n]) for n in apps)
            print(
                f"  on - off     {on_us - off_us:+6.1f} µs  (on/off per round: median "
                f"{statistics.median(ratios):.3f}, {ratios[0]:.3f}-{ratios[-1]:.3f})"
            )
            print("CPU µs inside the instrumentation call (webhooks._count), per delivery:")
            for name, values in inside.items():
                print(
                    f"  {name:12} median {statistics.median(values):6.2f}  "
                    f"min {min(values):6.2f}  max {max(values):6.2f}"
                )
            on_in, off_in = (statistics.median(inside[n]) for n in apps)
            print(f"  on - off     {on_in - off_in:+6.2f} µs")
            if args.profile:
                send = apps[f"metrics {args.profile}"]
                profiler = cProfile.Profile()
                profiler.enable()
                await drive(send, sent, args.deliveries, args.concurrency)
                profiler.disable()
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=4000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--no-lag",
        action="store_true",
        help="no X-Shopify-Triggered-At (as bench/webhooks.py sends): no lag observed",
    )
    parser.add_argument("--profile", choices=["on", "off"])
    parser.add_argument("--sort", default="tottime", help="cProfile's sort key")
    parser.add_argument("--top", type=int, default=40)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
