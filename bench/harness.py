"""Shared pieces of the benchmarks: processes, ports, the simulator, databases, tables.

Every benchmark runs the simulator (and, where it measures the server, ``serve``) in its
own process, so their CPU time can be read apart from ours (``cpu_s``) and they do not
share our interpreter's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
ACCESS_TOKEN = "shpat_bench"
WEBHOOK_SECRET = "shpss_bench"
API_TOKEN = "bench-api-token"
API_VERSION = "2026-10"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before serving {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Sim:
    """A running simulator process."""

    url: str
    pid: int
    location_id: int

    def cpu_s(self) -> float:
        return cpu_s(self.pid)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_simulator{path}", timeout=300, **kwargs)
        response.raise_for_status()
        return response.json()

    def levels(self, limit: int) -> list[dict[str, Any]]:
        return list(self.control("GET", f"/levels?limit={limit}")["levels"])

    def set_bucket(self, points: float) -> None:
        self.control("POST", "/throttle", json={"graphql_available": points})


@contextlib.contextmanager
def simulator(products: int, *, plan: str = "standard", log: Path | None = None) -> Iterator[Sim]:
    port = free_port()
    out = open(log or os.devnull, "wb")  # noqa: SIM115  # closed below
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, str(BENCH / "sim_server.py"), "--port", str(port), "--products", str(products),
         "--plan", plan, "--access-token", ACCESS_TOKEN, "--webhook-secret", WEBHOOK_SECRET],
        stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_simulator/health", proc)
        ready_s = time.perf_counter() - started
        print(f"  simulator with {products:,} products ready in {ready_s:.1f} s", file=sys.stderr)
        state = httpx.get(f"{url}/_simulator/state", timeout=30).json()
        yield Sim(url, proc.pid, int(state["locations"][0]["id"]))
    finally:
        stop(proc)
        out.close()


# -- databases -------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, pg_url: str = DEFAULT_PG) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in a temporary folder, or its own PostgreSQL
    schema (dropped afterwards)."""
    from shopify_sync.bootstrap import upgrade_database

    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shopify-sync-bench-") as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            upgrade_database(url)
            yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(pg_url, f"CREATE SCHEMA {schema}"))
    try:
        url = f"{pg_url}?search_path={schema}"
        upgrade_database(url)
        yield url
    finally:
        asyncio.run(_pg(pg_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


async def _pg(url: str, statement: str) -> None:
    from sqlalchemy import text

    from shopify_sync.adapters.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def seed_products(
    url: str,
    levels: Sequence[dict[str, Any]],
    *,
    differ: Sequence[bool],
    delta: int = 3,
    side: str = "ours",
) -> None:
    """Link one product per Shopify level, already synced (ours = base = Shopify, seen at the
    level's time), except where ``differ`` says one side moved by ``delta``: ``side="ours"``,
    a pending change of ours (Shopify still at the base); ``side="shopify"``, Shopify sales whose
    webhooks never came (ours = base = Shopify's level plus ``delta``, seen an hour before
    the level's time): the reconcile takes them into our stock without writing to Shopify."""
    if side not in ("ours", "shopify"):
        raise ValueError(f"side is ours or shopify, not {side!r}")
    asyncio.run(_seed(url, levels, differ, delta, side))


async def _seed(
    url: str, levels: Sequence[dict[str, Any]], differ: Sequence[bool], delta: int, side: str
) -> None:
    now = datetime.now(UTC)
    rows = []
    for index, (level, moved) in enumerate(zip(levels, differ, strict=True)):
        available = int(level["available"])
        seen_at = parse_time(level.get("updated_at"))
        ours = base = available
        if moved and side == "ours":
            ours += delta
        elif moved:
            ours = base = available + delta
            seen_at = seen_at and seen_at - timedelta(hours=1)
        rows.append(
            {
                "product_id": f"P{index + 1:07d}",
                "sku": level["sku"],
                "title": level["sku"],
                "b2b_stock": 100,
                "b2c_stock": ours,
                "shopify_variant_id": str(level["variant_id"]),
                "shopify_inventory_item_id": int(level["inventory_item_id"]),
                "sync_enabled": True,
                "shopify_base": base,
                "shopify_seen_at": seen_at,
                "last_synced_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    await insert_products(url, rows)


async def insert_products(url: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``product_inventory`` rows, 5,000 a transaction."""
    from sqlalchemy import insert

    from shopify_sync.adapters.db.engine import create_engine
    from shopify_sync.adapters.db.tables import product_inventory

    engine = create_engine(url)
    try:
        for start in range(0, len(rows), 5000):
            async with engine.begin() as conn:
                await conn.execute(insert(product_inventory), rows[start : start + 5000])
    finally:
        await engine.dispose()


def service_env(database_url: str, sim: Sim, **extra: str) -> dict[str, str]:
    """The environment ``serve`` and the CLI read, pointed at the simulator."""
    return {
        **os.environ,
        "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
        "SHOPIFY_API_VERSION": API_VERSION,
        "SHOPIFY_ACCESS_TOKEN": ACCESS_TOKEN,
        "SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SHOPIFY_LOCATION_ID": str(sim.location_id),
        "SHOPIFY_ADMIN_URL": sim.url,
        "SYNC_API_TOKEN": API_TOKEN,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": "false",
        **extra,
    }


def run_command(
    args: Sequence[str], env: dict[str, str], *, out: Path | None = None
) -> dict[str, Any]:
    """Run ``shopify-sync ARGS`` as its own process, as a user runs it (``time shopify-sync
    ...``): its wall time from spawn to exit, its CPU seconds and peak RSS, its exit code.
    ``/usr/bin/time`` starts it, so that its peak RSS is its own (Linux carries a parent's
    peak over across fork and exec, and ours holds the whole catalogue). Its stdout goes to
    ``out`` (or nowhere), its stderr (the logs) is kept."""
    sink = open(out or os.devnull, "wb")  # noqa: SIM115  # closed below
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-q", "-o", report.name, "-f", "%M %U %S",
             PYTHON, "-m", "shopify_sync", *args],
            env=env, cwd=ROOT, stdout=sink, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
        wall_s = time.perf_counter() - started
        rss_kb, user_s, sys_s = report.read().split()[-3:]
    sink.close()
    return {
        "code": done.returncode,
        "wall_s": round(wall_s, 2),
        "cpu_s": round(float(user_s) + float(sys_s), 2),
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
        "log_lines": done.stderr.count(b"\n"),
        "stderr_tail": done.stderr.decode(errors="replace")[-2000:],
    }


def load_average() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15 minute load averages (2 cores: 2.0 is fully busy)."""
    return os.getloadavg()


# -- output ------------------------------------------------------------------------------------


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [
        title,
        "",
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
    ]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, name: str, results: Any) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "results": results,
    }
    target.write_text(json.dumps(payload, indent=2) + "\n")


# -- the service ------------------------------------------------------------------------------


@dataclass
class Service:
    """A running bench server (``serve`` plus the bare endpoint)."""

    url: str
    pid: int

    def cpu_s(self) -> float:
        return cpu_s(self.pid)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


@contextlib.contextmanager
def service(env: dict[str, str], *, log: Path | None = None) -> Iterator[Service]:
    """Start ``bench/server.py`` (``serve``'s app and uvicorn settings); wait until the
    first scheduled reconcile has run, so that it does not overlap the measurement."""
    port = free_port()
    out = open(log or os.devnull, "wb")  # noqa: SIM115  # closed below
    proc = subprocess.Popen(
        [PYTHON, str(BENCH / "server.py"), "--port", str(port)],
        env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health", proc)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if httpx.get(f"{url}/health", timeout=30).json().get("last_reconcile"):
                break
            time.sleep(0.2)
        yield Service(url, proc.pid)
    finally:
        stop(proc)
        out.close()


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]
