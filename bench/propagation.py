"""Benchmark: how long a B2B change takes to reach Shopify.

Two paths, each measured from the moment our ``b2c_stock`` is written until the simulator
holds the new quantity (polled every few milliseconds through its control API):

- ``POST /sync/{id}`` right after the database write (what the Inventory Service does);
- a bare database write only, picked up by ``serve``'s pending-change scan
  (``PENDING_SCAN_INTERVAL_SECONDS``, 2 s by default).

Each sample uses another product, so no sample waits on the one before.

    python bench/propagation.py                  # quick: 30 samples per path
    python bench/propagation.py --samples 200    # full
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

import httpx
from harness import (
    API_TOKEN,
    Service,
    Sim,
    database,
    percentile,
    seed_products,
    service,
    service_env,
    simulator,
    table,
    write_json,
)
from sqlalchemy import text

from shopify_sync.adapters.db.engine import create_engine

WARM_UP = 3
"""Samples taken first and not counted (connections, caches)."""


async def measure(
    url: str, sim: Sim, svc: Service, levels: list[dict[str, Any]], path: str, args: Any,
    offset: int,
) -> dict[str, Any]:  # fmt: skip
    engine = create_engine(url)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    seconds: list[float] = []
    api_ms: list[float] = []
    sim_cpu, svc_cpu = sim.cpu_s(), svc.cpu_s()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            rng = random.Random(offset)
            count = args.samples if path == "api" else args.scan_samples
            for n in range(-WARM_UP, count):
                index = offset + n + WARM_UP
                level = levels[index]
                pid = f"P{index + 1:07d}"
                wanted = int(level["available"]) + 1 + n % 5
                query = (
                    f"{sim.url}/_simulator/levels?inventory_item_id={level['inventory_item_id']}"
                    f"&location_id={sim.location_id}"
                )
                if path == "scan":
                    # Land anywhere in the scan's cycle, not always right after a pass.
                    await asyncio.sleep(rng.uniform(0, float(args.scan_interval)))
                started = time.perf_counter()
                async with engine.begin() as conn:
                    await conn.execute(
                        text("UPDATE product_inventory SET b2c_stock = :q WHERE product_id = :p"),
                        {"q": wanted, "p": pid},
                    )
                if path == "api":
                    response = await http.post(f"{svc.url}/sync/{pid}", headers=headers)
                    response.raise_for_status()
                    if n >= 0:
                        api_ms.append((time.perf_counter() - started) * 1000)
                deadline = started + 30
                while True:
                    held = (await http.get(query)).json()["levels"][0]["available"]
                    if held == wanted:
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"{pid} did not reach Shopify in 30 s")
                    await asyncio.sleep(args.poll_ms / 1000)
                if n >= 0:
                    seconds.append(time.perf_counter() - started)
                await asyncio.sleep(0.05 if path == "api" else 0.0)
    finally:
        await engine.dispose()
    ms = [s * 1000 for s in seconds]
    return {
        "path": path,
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
        "api_p50_ms": round(percentile(api_ms, 50), 1) if api_ms else None,
        "server_cpu_s": round(svc.cpu_s() - svc_cpu, 2),
        "simulator_cpu_s": round(sim.cpu_s() - sim_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=30, help="through POST /sync/{id}")
    parser.add_argument("--scan-samples", type=int, default=15, help="through the scan")
    parser.add_argument("--scan-interval", default="2", help="PENDING_SCAN_INTERVAL_SECONDS")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="simulator polling interval")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    products = args.samples + args.scan_samples + 2 * WARM_UP
    results = []
    with simulator(products) as sim:
        for kind in args.databases.split(","):
            levels = sim.levels(products)  # as the previous database's run left them
            with database(kind) as url:
                seed_products(url, levels, differ=[False] * len(levels))
                env = service_env(url, sim, PENDING_SCAN_INTERVAL_SECONDS=args.scan_interval)
                with service(env) as svc:
                    for offset, path in ((0, "api"), (args.samples + WARM_UP, "scan")):
                        result = asyncio.run(measure(url, sim, svc, levels, path, args, offset))
                        result["database"] = kind
                        results.append(result)
                        print(f"  {kind} {path}: p50 {result['p50_ms']} ms", file=sys.stderr)
    names = {"api": "b2c_stock write + POST /sync/{id}", "scan": "bare write, pending scan"}
    headers = ["database", "path", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms",
               "POST answered p50 ms", "server CPU s", "simulator CPU s"]  # fmt: skip
    rows = [
        [r["database"], names[r["path"]], r["samples"], r["p50_ms"], r["p90_ms"], r["p99_ms"],
         r["max_ms"], r["api_p50_ms"], r["server_cpu_s"], r["simulator_cpu_s"]]
        for r in results
    ]  # fmt: skip
    title = (
        "Propagation: B2B change -> the simulator holds it "
        f"(PENDING_SCAN_INTERVAL_SECONDS={args.scan_interval})"
    )
    print(table(title, headers, rows))
    write_json(args.json, "propagation", results)


if __name__ == "__main__":
    main()
