"""Benchmark: ``shopify-sync products link --auto`` on N unlinked products, as a user runs it.

The command runs as one whole process (``time shopify-sync products link --auto``, default
logging: INFO, JSON lines on a non-terminal stderr) against the simulator at Standard-plan
limits holding N products, on a fresh database of N unlinked products with the simulator's
SKUs. From 2,000 unlinked products on it reads Shopify's variants in one bulk operation.
Baseline in the same run, same simulator: the same command on 1,999 unlinked products (the
largest catalogue it still searches, 50 SKUs a call), reported per SKU and projected to N.

    python bench/link.py                  # quick: 10,000 SKUs
    python bench/link.py --sizes 100000   # full
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

from harness import (
    Sim,
    database,
    insert_products,
    load_average,
    run_command,
    service_env,
    simulator,
    table,
    write_json,
)

BASELINE = 1999
"""One below the bulk threshold: the largest catalogue the command still searches."""


def seed_unlinked(url: str, levels: list[dict[str, Any]]) -> None:
    """One unlinked product per Shopify level, carrying its SKU."""
    asyncio.run(_seed(url, levels))


async def _seed(url: str, levels: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "product_id": f"P{index + 1:07d}", "sku": level["sku"], "title": level["sku"],
            "b2b_stock": 100, "b2c_stock": 10, "sync_enabled": False,
            "created_at": now, "updated_at": now,
        }
        for index, level in enumerate(levels)
    ]  # fmt: skip
    await insert_products(url, rows)


def linked(url: str) -> int:
    async def count() -> int:
        from sqlalchemy import text

        from shopify_sync.adapters.db.engine import create_engine

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = (
                    "SELECT count(*) FROM product_inventory WHERE shopify_variant_id IS NOT NULL"
                )
                return int((await conn.execute(text(query))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def run_one(sim: Sim, size: int, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    levels = sim.levels(size)
    with database(args.database) as url:
        seed_unlinked(url, levels)
        sim.set_bucket(2000.0)
        before = sim.cpu_s()
        load = load_average()[0]
        result = run_command(["products", "link", "--auto"], service_env(url, sim))
        if result["code"] != 0:
            sys.stderr.write(result["stderr_tail"])
            raise RuntimeError(f"link --auto exited {result['code']}")
        result.update(
            kind=kind, skus=size, linked=linked(url), load_1m=round(load, 1),
            simulator_cpu_s=round(sim.cpu_s() - before, 2),
            s_per_sku=round(result["wall_s"] / size, 5),
        )  # fmt: skip
    del result["stderr_tail"]
    print(f"  {kind} {size:,} SKUs: {result['wall_s']} s (load {load:.1f})", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated SKU counts")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each, alternating")
    parser.add_argument("--baseline", type=int, default=BASELINE, help="SKUs of the baseline")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    for size in (int(x) for x in args.sizes.split(",")):
        with simulator(size) as sim:
            for _ in range(args.repeats):
                base = run_one(sim, args.baseline, "search per 50 (baseline)", args)
                base[f"projected_s_{size}"] = round(base["s_per_sku"] * size, 1)
                results.append(base)
                results.append(run_one(sim, size, "bulk", args))
    headers = ["path", "SKUs", "linked", "wall s", "s/SKU", "projected s", "CPU s",
               "peak RSS MB", "log lines", "simulator CPU s", "load (1 min)"]  # fmt: skip
    rows = [
        [r["kind"], r["skus"], r["linked"], r["wall_s"], r["s_per_sku"],
         next((v for k, v in r.items() if k.startswith("projected_s_")), None),
         r["cpu_s"], r["peak_rss_mb"], r["log_lines"], r["simulator_cpu_s"], r["load_1m"]]
        for r in results
    ]  # fmt: skip
    print(table("products link --auto, whole process (Standard plan)", headers, rows))
    print(f"\n(database: {args.database}; {time.monotonic() - started:.0f} s in all)")
    write_json(args.json, "link", results)


if __name__ == "__main__":
    main()
