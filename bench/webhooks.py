"""Benchmark: webhook ingest under load, on SQLite and on PostgreSQL.

A separate process (``wrk`` with ``bench/webhook.lua``) posts correctly signed
``inventory_levels/update`` deliveries, each with a unique event id and a newer level of
one of the linked products, to ``serve``. Baseline in the same run: the same server's bare
200-OK endpoint, with the same load generator, bodies and headers; and the same deliveries
to a second ``serve`` on the same database with its metrics off (``METRICS_ENABLED=false``),
in alternating rounds, for what the instrumentation costs.

    python bench/webhooks.py                          # quick: 12 s per endpoint, 8 connections
    python bench/webhooks.py --duration 30 --connections 2,8   # full
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    ROOT,
    WEBHOOK_SECRET,
    database,
    parse_time,
    seed_products,
    service,
    service_env,
    simulator,
    table,
    write_json,
)

from shopify_sync.adapters.shopify.webhooks import sign


def first_round(levels: list[dict[str, Any]]) -> datetime:
    """When the deliveries' levels start: Shopify's (the simulator's) newest ``updated_at``.

    Each round must be applied: newer than the level the start-up reconcile records as
    seen (Shopify's own), one second after the round before (the same second is re-read),
    and not over two minutes ahead of our clock (such a level is re-read from Shopify, not
    applied). Until 2026-12-02 the rounds started five minutes ahead, and since the
    two-minute rule (3be5fce) every delivery took the re-read path; ``statuses`` counts any
    that still do (a long run at a high rate over few products outruns the clock)."""
    seen = [parse_time(level.get("updated_at")) for level in levels]
    return max((t for t in seen if t is not None), default=datetime.now(UTC)).replace(microsecond=0)


def write_bodies(
    path: Path, levels: list[dict[str, Any]], location: int, rounds: int, start: datetime
) -> int:
    """Signed deliveries: ``rounds`` successive levels per product, one second apart from
    ``start`` on (the first a second after it)."""
    count = 0
    with path.open("w") as out:
        for r in range(1, rounds + 1):
            at = (start + timedelta(seconds=r)).isoformat().replace("+00:00", "Z")
            for level in levels:
                item = int(level["inventory_item_id"])
                body = json.dumps(
                    {
                        "inventory_item_id": item,
                        "location_id": location,
                        "available": int(level["available"]) + r % 7,
                        "updated_at": at,
                        "admin_graphql_api_id": (
                            f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"
                        ),
                    },
                    separators=(",", ":"),
                ).encode()
                out.write(f"{sign(body, WEBHOOK_SECRET)}\t{body.decode()}\n")
                count += 1
    return count


def wrk(
    url: str, bodies: Path, run: str, args: argparse.Namespace, duration_s: float,
    connections: int, first: int = 0,
) -> Any:  # fmt: skip
    command = [
        "wrk", f"-t{args.threads}", f"-c{connections}", f"-d{duration_s:g}s", "--timeout", "5s",
        "-s", str(BENCH / "webhook.lua"), url,
        "--", str(bodies), run, str(args.threads), str(first),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line.removeprefix("RESULT "))
    seconds = result["duration_us"] / 1e6
    errors = sum(result[k] for k in result if k.endswith("_errors") or k == "timeouts")
    return {
        "requests": result["requests"],
        "rps": round(result["requests"] / seconds, 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p90_ms": round(result["p90_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "max_ms": round(result["max_us"] / 1000, 2),
        "errors": errors,
        "seconds": round(seconds, 2),
    }


async def statuses(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from shopify_sync.adapters.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM webhook_events GROUP BY status")
            )
            found = {str(status): int(count) for status, count in rows}
            ahead = await conn.scalar(
                text("SELECT count(*) FROM webhook_events WHERE detail LIKE '%ahead of our clock%'")
            )
            if ahead:
                found["re-read, dated ahead of our clock"] = int(ahead)
            return found
    finally:
        await engine.dispose()


BARE = ("bare 200 OK", "/_bench/ok")
WEBHOOK = ("inventory webhook", "/webhooks/inventory-update")
UNMETERED = ("webhook, metrics off", "/webhooks/inventory-update")


def run_database(kind: str, sim: Any, levels: list[dict[str, Any]], args: argparse.Namespace,
                 folder: Path) -> list[dict[str, Any]]:  # fmt: skip
    """For each connection count, ``--repeats`` rounds of bare then webhook: the machine's
    drift (a neighbour, the clock) hits both endpoints alike, and each round gives a ratio."""
    results = []
    with database(kind) as url:
        seed_products(url, levels, differ=[False] * len(levels))
        bodies = folder / "bodies.tsv"
        total = write_bodies(bodies, levels, sim.location_id, args.rounds, first_round(levels))
        env = service_env(url, sim, LOG_LEVEL=args.log_level)
        env_off = {**env, "METRICS_ENABLED": "false"}
        first, second = (env_off, env) if args.swap_servers else (env, env_off)
        with (
            service(first, log=folder / f"server-{kind}-1.log") as one,
            service(second, log=folder / f"server-{kind}-2.log") as two,
        ):
            # --swap-servers: the unmetered server starts first, so that the order in which
            # the two processes start (and are placed) is not mistaken for metrics' cost.
            svc, svc_off = (two, one) if args.swap_servers else (one, two)
            wrk(f"{svc.url}/_bench/ok", bodies, f"warm-{kind}", args, 2, args.connections[0])
            wrk(f"{svc_off.url}/_bench/ok", bodies, f"warm-off-{kind}", args, 2, 1)
            sent = 0
            servers = {BARE[0]: svc, WEBHOOK[0]: svc, UNMETERED[0]: svc_off}
            for connections in args.connections:
                rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
                for repeat in range(args.repeats):
                    for name, path in (BARE, WEBHOOK, UNMETERED):
                        result = _round(kind, servers[name], sim, args, bodies, connections,
                                        path, sent, profile=repeat == 0)  # fmt: skip
                        if path == WEBHOOK[1]:
                            sent += result["requests"]
                            if sent > total:
                                # Past the last body wrk starts over with old levels, which
                                # are stale (ignored, no write) and would flatter the figures.
                                raise RuntimeError(
                                    f"{sent} deliveries sent but only {total} bodies written: "
                                    "raise --rounds"
                                )
                        rounds[name].append(result)
                        print(f"  {kind} {name} c={connections} round {repeat + 1}: "
                              f"{result['rps']} req/s", file=sys.stderr)  # fmt: skip
                bare = _combine(rounds[BARE[0]])
                hook = _combine(rounds[WEBHOOK[0]])
                off = _combine(rounds[UNMETERED[0]])
                for row, name in ((hook, WEBHOOK[0]), (off, UNMETERED[0])):
                    ratios = sorted(
                        w["rps"] / b["rps"]
                        for b, w in zip(rounds[BARE[0]], rounds[name], strict=True)
                    )
                    row["vs_bare"] = round(statistics.median(ratios), 2)
                    row["vs_bare_range"] = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
                costs = sorted(
                    w["rps"] / o["rps"]
                    for w, o in zip(rounds[WEBHOOK[0]], rounds[UNMETERED[0]], strict=True)
                )
                hook["vs_metrics_off"] = round(statistics.median(costs), 3)
                hook["vs_metrics_off_range"] = f"{costs[0]:.3f}-{costs[-1]:.3f}"
                # The server's CPU time per delivery: steadier than throughput on a shared
                # machine (a neighbour's load slows a round, not the work it does).
                hook["cpu_vs_metrics_off"] = round(hook["cpu_us"] / off["cpu_us"], 3)
                for name, row in ((BARE[0], bare), (WEBHOOK[0], hook), (UNMETERED[0], off)):
                    row.update(database=kind, endpoint=name, connections=connections,
                               rounds=rounds[name])  # fmt: skip
                    results.append(row)
        results[-1]["webhook_events"] = asyncio.run(statuses(url))
    return results


def _round(kind: str, svc: Any, sim: Any, args: argparse.Namespace, bodies: Path,
           connections: int, path: str, sent: int, *, profile: bool) -> dict[str, Any]:  # fmt: skip
    """One wrk run of ``duration / repeats`` seconds (whole seconds) against ``path``."""
    seconds = max(1, round(args.duration / args.repeats))
    cpu, sim_cpu = svc.cpu_s(), sim.cpu_s()
    spy = None
    if args.profile and profile and path == WEBHOOK[1]:
        spy = subprocess.Popen(
            [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(svc.pid), "-o",
             f"{args.profile}-{kind}-{connections}.json", "-f", "speedscope", "-d",
             str(max(1, int(seconds)))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    run = f"{kind}-{connections}-{path}-{sent}"
    result: dict[str, Any] = wrk(f"{svc.url}{path}", bodies, run, args, seconds, connections, sent)
    if spy is not None:
        spy.wait()
    result["server_cpu_s"] = round(svc.cpu_s() - cpu, 2)
    result["simulator_cpu_s"] = round(sim.cpu_s() - sim_cpu, 2)
    time.sleep(1)
    return result


def _combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for an endpoint's rounds: throughput over all of them, the median round's
    p50 and p90, the worst round's p99 and maximum."""
    seconds = sum(r["seconds"] for r in rounds)
    requests = sum(r["requests"] for r in rounds)
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p90_ms": statistics.median(r["p90_ms"] for r in rounds),
        "p99_ms": max(r["p99_ms"] for r in rounds),
        "max_ms": max(r["max_ms"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "server_cpu_s": round(sum(r["server_cpu_s"] for r in rounds), 2),
        "cpu_us": round(1e6 * sum(r["server_cpu_s"] for r in rounds) / max(requests, 1), 1),
        "simulator_cpu_s": round(sum(r["simulator_cpu_s"] for r in rounds), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per endpoint")
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="alternating bare/webhook rounds the duration is split into",
    )  # fmt: skip
    parser.add_argument("--connections", default="8", help="comma-separated, one run each")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=0,
        help="deliveries per product (default: enough for 9,000 deliveries/s throughout)",
    )  # fmt: skip
    parser.add_argument("--log-level", default="INFO", help="the server's LOG_LEVEL")
    parser.add_argument(
        "--swap-servers", action="store_true",
        help="start the metrics-off server first (the metered one second)",
    )  # fmt: skip
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", help="py-spy the server during the webhook runs")
    args = parser.parse_args()
    args.connections = [int(x) for x in args.connections.split(",")]
    if not args.rounds:
        runs = len(args.connections) * args.duration
        args.rounds = math.ceil(9000 * runs / args.products)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench` installs it (apt-get install -y wrk)")
    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="shopify-sync-webhooks-") as tmp,
        simulator(args.products) as sim,
    ):
        levels = sim.levels(args.products)
        for kind in args.databases.split(","):
            results += run_database(kind, sim, levels, args, Path(tmp))
    headers = ["database", "endpoint", "connections", "req/s", "p50 ms", "p90 ms", "p99 ms",
               "max ms", "errors", "vs bare", "rounds' ratios", "vs metrics off",
               "rounds' ratios", "server CPU µs/req", "CPU vs metrics off", "server CPU s",
               "simulator CPU s"]  # fmt: skip
    rows = [
        [r["database"], r["endpoint"], r["connections"], r["rps"], r["p50_ms"], r["p90_ms"],
         r["p99_ms"], r["max_ms"], r["errors"], r.get("vs_bare"), r.get("vs_bare_range"),
         r.get("vs_metrics_off"), r.get("vs_metrics_off_range"), r["cpu_us"],
         r.get("cpu_vs_metrics_off"), r["server_cpu_s"], r["simulator_cpu_s"]]
        for r in results
    ]  # fmt: skip
    title = (
        f"Webhook ingest: wrk, {args.threads} thread(s), {args.duration:g} s per endpoint "
        f"in {args.repeats} alternating rounds, LOG_LEVEL={args.log_level}; vs bare is the "
        "median round's ratio, p99 and max the worst round's"
    )
    print(table(title, headers, rows))
    for r in results:
        if "webhook_events" in r:
            print(f"\n{r['database']}: webhook_events by status: {r['webhook_events']}")
    write_json(args.json, "webhooks", results)


if __name__ == "__main__":
    main()
