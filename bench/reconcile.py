"""Benchmark: full reconcile of N SKUs against the simulator at Standard-plan limits.

For each N and each share of products that differ, a fresh database is linked to the
simulator's whole catalogue (synced, except the differing products: on our side they carry a
pending change of ours, to be written to Shopify; on Shopify's side they were sold there and
the webhooks never came, to be taken into our rows without a write), then ``reconcile_all``
runs in its own process. One more run per size (``--no-outage`` skips it) has every product
moved on ours while Shopify answers each write with 503: what an outage costs (every failure
recorded, the outage pause). Each run is made twice on the same data: ``shopify-sync sync
--all`` as a whole process, as a user runs it (start-up, default logging and migration check
included: "wall s", what the ratio to the floor is taken from), and ``reconcile_all`` inside a
measuring child process, which counts calls and points ("in-process s"). Baseline in
the same run: the naive per-product path (one read and one write per product) on a
smaller N, started with an empty bucket (its steady state), reported per SKU.

    python bench/reconcile.py                       # quick: 10,000 SKUs
    python bench/reconcile.py --sizes 10000,100000  # full
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import time
from typing import Any

from harness import (
    ACCESS_TOKEN,
    API_VERSION,
    BENCH,
    PYTHON,
    ROOT,
    Sim,
    database,
    load_average,
    run_command,
    seed_products,
    service_env,
    simulator,
    table,
    write_json,
)

BUCKET = 2000.0
RESTORE_PER_S = 100.0
WRITE_COST = 10
BATCH = 250


def floor_s(writes: int) -> float:
    """Rate-limit floor: the writes' points beyond a full bucket, at the restore rate."""
    return max(0.0, writes * WRITE_COST - BUCKET) / RESTORE_PER_S


def child(sim: Sim, url: str, mode: str, limit: int = 0, profile: str | None = None) -> Any:
    command = [
        PYTHON, str(BENCH / "reconcile_child.py"), "--mode", mode, "--database", url,
        "--shopify", sim.url, "--location", str(sim.location_id), "--limit", str(limit),
        "--access-token", ACCESS_TOKEN, "--api-version", API_VERSION,
    ]  # fmt: skip
    if profile:
        command = [str(ROOT / ".venv/bin/py-spy"), "record", "-o", profile, "-f", "speedscope",
                   "--", *command]  # fmt: skip
    before = sim.cpu_s()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"{mode} run failed")
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    result = json.loads(line)
    result["simulator_cpu_s"] = round(sim.cpu_s() - before, 3)
    return result


def run_one(sim: Sim, size: int, share: float, side: str, rng: random.Random,
            args: argparse.Namespace, *, outage: bool = False) -> dict[str, Any]:  # fmt: skip
    """One reconcile of ``size`` SKUs of which ``share`` % moved on ``side``: ours (pushed to
    Shopify, in 250-entry writes) or Shopify's (missed webhooks: taken into our rows, no
    write). ``outage``: Shopify answers every write with 503 throughout."""
    levels = sim.levels(size)
    count = round(size * share / 100)
    chosen = set(rng.sample(range(size), count))
    differ = [i in chosen for i in range(size)]
    if outage:
        sim.control("POST", "/faults/api", json={
            "mode": "status", "status": 503, "count": 10**9, "match": "inventorySetQuantities",
        })  # fmt: skip
    try:
        with database(args.database) as url:
            seed_products(url, levels, differ=differ, side=side)
            sim.set_bucket(BUCKET)
            env = service_env(url, sim)
            del env["AUTO_MIGRATE"]  # as a user runs it: the default, a check at start
            load = load_average()[0]
            before = sim.cpu_s()
            command = run_command(["sync", "--all"], env)
            command_sim_s = round(sim.cpu_s() - before, 3)
            if command["code"] not in (0, 1):
                sys.stderr.write(command["stderr_tail"])
                raise RuntimeError(f"sync --all exited {command['code']}")
        with database(args.database) as url:
            seed_products(url, levels, differ=differ, side=side)
            sim.set_bucket(BUCKET)
            profile = f"{args.profile}-{size}-{side}-{share:g}.json" if args.profile else None
            result: dict[str, Any] = child(sim, url, "reconcile", profile=profile)
    finally:
        if outage:
            sim.control("DELETE", "/faults")
    result["in_process_s"] = result["wall_s"]
    result.update(
        wall_s=command["wall_s"], command_cpu_s=command["cpu_s"],
        command_rss_mb=command["peak_rss_mb"], command_simulator_cpu_s=command_sim_s,
        load_1m=round(load, 1),
    )  # fmt: skip
    writes = math.ceil(count / BATCH) if side == "ours" and not outage else 0
    result.update(
        kind="outage" if outage else "reconcile", skus=size, differ_pct=share, differ=count,
        side=side,
        floor_s=round(floor_s(writes), 1),
        points_per_sku=round(result["points"] / size, 4),
    )  # fmt: skip
    result["floor_ratio"] = (
        round(result["wall_s"] / result["floor_s"], 2) if result["floor_s"] else None
    )
    print(f"  {size:,} SKUs, {share:g}% differ on {side} side: {result['wall_s']} s "
          f"(in-process {result['in_process_s']} s, load {load:.1f})", file=sys.stderr)  # fmt: skip
    return result


def run_size(size: int, shares: list[float], args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    rng = random.Random(size)
    with simulator(size) as sim:
        for side in args.sides:
            for share in shares:
                if side == "shopify" and share == 0:
                    continue  # the same run as 0% on our side
                results.append(run_one(sim, size, share, side, rng, args))
        if args.outage:
            results.append(run_one(sim, size, 100, "ours", rng, args, outage=True))
        if args.naive:
            levels = sim.levels(args.naive)
            with database(args.database) as url:
                seed_products(url, levels, differ=[True] * len(levels))
                sim.set_bucket(0)
                result = child(sim, url, "naive", limit=args.naive)
            result.update(
                kind="naive", skus=args.naive, differ_pct=100.0, differ=args.naive, side="ours",
                points_per_sku=round(result["points"] / args.naive, 4),
                s_per_sku=round(result["wall_s"] / args.naive, 4),
                floor_s=None, floor_ratio=None,
            )  # fmt: skip
            for target in sorted({size, *[r["skus"] for r in results]}):
                result[f"projected_s_{target}"] = round(result["s_per_sku"] * target, 1)
            results.append(result)
            print(f"  naive {args.naive:,} SKUs: {result['wall_s']} s", file=sys.stderr)
    return results


PATHS = {
    "reconcile": "bulk reconcile",
    "outage": "bulk, writes get 503",
    "naive": "naive per product",
}


def render(results: list[dict[str, Any]]) -> str:
    headers = [
        "path", "SKUs", "differ", "moved on", "changed", "failed", "wall s", "command CPU s",
        "in-process s", "calls", "writes", "points", "pts/SKU", "bucket wait s", "floor s",
        "x floor", "peak RSS MB", "simulator CPU s", "load (1 min)",
    ]  # fmt: skip
    rows = []
    for r in results:
        rows.append([
            PATHS[r["kind"]],
            r["skus"], f"{r['differ_pct']:g}%", r["side"], r["changed"], r["failed"], r["wall_s"],
            r.get("command_cpu_s"), r.get("in_process_s"), r["calls"], r["write_calls"],
            int(r["points"]), r["points_per_sku"], r["bucket_wait_s"], r["floor_s"],
            r["floor_ratio"], r.get("command_rss_mb", r["peak_rss_mb"]), r["simulator_cpu_s"],
            r.get("load_1m"),
        ])  # fmt: skip
    text = table(
        "Reconcile (Standard plan: 2,000-point bucket, 100 points/s). wall s: `shopify-sync sync "
        "--all` as a whole process; in-process s: the same pass in the measuring child",
        headers,
        rows,
    )
    naive = [r for r in results if r["kind"] == "naive"]
    for r in naive:
        text += (
            f"\n\nNaive baseline: {r['s_per_sku']} s and {r['points_per_sku']} points per SKU "
            "(steady state, bucket empty at start)"
        )
        for key, value in r.items():
            if key.startswith("projected_s_"):
                n = int(key.rsplit("_", 1)[1])
                best = min(
                    (x for x in results if x["kind"] == "reconcile" and x["skus"] == n
                     and x["differ_pct"] == 100 and x["side"] == "ours"),
                    key=lambda x: x["wall_s"], default=None,
                )  # fmt: skip
                vs = f"; bulk reconcile, 100% differ: {best['wall_s']} s" if best else ""
                text += f"\n  {n:,} SKUs projected: {value:,.0f} s ({value / 3600:.1f} h){vs}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated SKU counts")
    parser.add_argument("--differ", default="0,1,100", help="comma-separated percentages")
    parser.add_argument(
        "--sides", default="ours,shopify",
        help="which side the differing products moved on: ours (pushed), shopify (pulled)",
    )  # fmt: skip
    parser.add_argument(
        "--outage", action=argparse.BooleanOptionalAction, default=True,
        help="also reconcile with every product moved on ours while Shopify answers each "
        "write with 503 (failures recorded, outage pause)",
    )  # fmt: skip
    parser.add_argument("--naive", type=int, default=100, help="SKUs for the naive baseline")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", help="py-spy speedscope profiles, this path prefix")
    args = parser.parse_args()
    shares = [float(x) for x in args.differ.split(",")]
    args.sides = args.sides.split(",")
    if not set(args.sides) <= {"ours", "shopify"}:
        parser.error("--sides takes ours, shopify or both")
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    for size in (int(x) for x in args.sizes.split(",")):
        results += run_size(size, shares, args)
    print(render(results))
    print(f"\n(database: {args.database}; {time.monotonic() - started:.0f} s in all)")
    write_json(args.json, "reconcile", results)


if __name__ == "__main__":
    main()
