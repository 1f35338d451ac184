"""SIGTERM to a real ``serve`` process in the middle of a burst of webhooks: every delivery
answered 200 is committed, every other one is refused (so Shopify retries it), the writes
to Shopify in flight are settled, the reconcile lease is given back, and the process exits."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shopify_sync.adapters.shopify.webhooks import sign
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from tests.integration.service.cluster import free_port, ready, serve_env
from tests.integration.service.stack import ACCESS, API_VERSION, SECRET, wait_for
from tests.integration.web.test_app import level as level_body

REFUSED = (httpx.TransportError,)
"""What a client sees from a process that stopped taking requests (Shopify retries these)."""
ACKNOWLEDGED_BEFORE_SIGTERM = 150


def delivery(item: int, location: int, n: int) -> tuple[bytes, dict[str, str]]:
    """The n-th signed ``inventory_levels/update`` of ``item``, one second newer each."""
    at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=n)
    payload: dict[str, Any] = {
        **level_body(item, 20 + n % 5, at.isoformat().replace("+00:00", "Z")),
        "location_id": location,
    }
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "inventory_levels/update",
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": f"w-{item}-{n}",
        "X-Shopify-Event-Id": f"e-{item}-{n}",
        "X-Shopify-Triggered-At": at.isoformat(),
    }
    return body, headers


async def burst(
    url: str, items: list[int], location: int, proc: subprocess.Popen[bytes]
) -> dict[str, str]:
    """Deliveries from 12 connections until the server refuses them for a while; SIGTERM
    once ``ACKNOWLEDGED_BEFORE_SIGTERM`` are answered. Returns each event id's result:
    the status code, or the transport error's name."""
    results: dict[str, str] = {}
    counter = iter(range(1_000_000))
    refused_in_a_row = 0

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal refused_in_a_row
        while refused_in_a_row < 30:
            n = next(counter)
            body, headers = delivery(items[n % len(items)], location, n)
            event = headers["X-Shopify-Event-Id"]
            try:
                response = await client.post(url, content=body, headers=headers)
            except REFUSED as exc:
                results[event] = type(exc).__name__
                refused_in_a_row += 1
                await asyncio.sleep(0.01)
                continue
            results[event] = str(response.status_code)
            refused_in_a_row = 0
            answered = sum(r == "200" for r in results.values())
            if answered == ACKNOWLEDGED_BEFORE_SIGTERM and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)

    limits = httpx.Limits(max_connections=12, max_keepalive_connections=12)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(12)))
    return results


def test_sigterm_in_a_webhook_burst_answers_only_what_it_committed(
    database_url: str, tmp_path: Path
) -> None:
    """SIGTERM mid-burst: 200s are all committed, the rest were refused at the connection,
    no write to Shopify is left in flight, no lease is held, and the process shuts down
    cleanly."""
    config = SimulatorConfig(
        products=6, access_token=ACCESS, webhook_secret=SECRET, webhook_timeout_s=5.0, seed=7
    )
    with run_in_thread(config) as shopify:
        state = httpx.get(f"{shopify}/_simulator/state").json()
        location = int(state["locations"][0]["id"])
        levels = httpx.get(f"{shopify}/_simulator/levels?limit=100").json()["levels"]
        port = free_port()
        log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115  # closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "shopify_sync", "serve", "--port", str(port)],
            env=serve_env(database_url, shopify, location),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: ready(base), timeout_s=60, what="serve ready")
            items = [int(row["inventory_item_id"]) for row in levels]
            _link(database_url, levels)
            _sell_b2b(database_url, levels)
            results = asyncio.run(burst(f"{base}/webhooks/inventory-update", items, location, proc))
            exit_code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    committed = _committed_events(database_url)
    left = _left_over(database_url)
    log_text = (tmp_path / "serve.log").read_text()

    acknowledged = {event for event, result in results.items() if result == "200"}
    others = {result for event, result in results.items() if result != "200"}
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_SIGTERM
    assert acknowledged <= committed
    assert others and others <= {"ConnectError", "RemoteProtocolError", "ReadError"}, others
    assert left == (0, 0, 0)
    # uvicorn re-raises the signal once it has shut down: the conventional status of a
    # process ended by SIGTERM, which systemd and orchestrators count as a clean stop.
    assert exit_code == -signal.SIGTERM, log_text[-3000:]
    assert "Application shutdown complete" in log_text


def _sql(url: str, statement: str, params: list[dict[str, Any]] | None = None) -> list[Any]:
    from sqlalchemy import text

    from shopify_sync.adapters.db.engine import create_engine

    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as c:
                result = await c.execute(text(statement), params or {})
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _link(url: str, levels: list[dict[str, Any]]) -> None:
    """Every simulator item linked, enabled and in sync (base = Shopify's available)."""
    _sql(
        url,
        "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock, shopify_base,"
        " shopify_variant_id, shopify_inventory_item_id, sync_enabled, allocation_policy,"
        " pool_base) VALUES (:p, :s, 100, :a, :a, :v, :i, true, 'split', :a)",
        [
            {"p": f"p{n}", "s": row["sku"], "a": int(row["available"]),
             "v": str(row["variant_id"]), "i": int(row["inventory_item_id"])}
            for n, row in enumerate(levels)
        ],
    )  # fmt: skip


def _sell_b2b(url: str, levels: list[dict[str, Any]]) -> None:
    """B2B sales written straight to the table: the pending scan pushes them during the burst."""
    _sql(url, "UPDATE product_inventory SET b2c_stock = b2c_stock - 1")


def _committed_events(url: str) -> set[str]:
    return {str(row[0]) for row in _sql(url, "SELECT event_id FROM webhook_events")}


def _left_over(url: str) -> tuple[int, int, int]:
    """Writes in flight, products still marked with one, and leases held."""
    writes = _sql(url, "SELECT count(*) FROM outbound_writes")[0][0]
    marked = _sql(url, "SELECT count(*) FROM product_inventory WHERE push_key IS NOT NULL")[0][0]
    leases = _sql(url, "SELECT count(*) FROM leases")[0][0]
    return int(writes), int(marked), int(leases)
