"""The whole flow with a Dev Dashboard app whose tokens live two seconds: a reconcile of many
products outlives several tokens (renewed before expiry, and after a 401 on a write and on a
read) and ends with every product in sync, each written exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from structlog.testing import capture_logs

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.simulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SimulatorConfig,
)
from shopify_sync.simulator.testing import run_in_thread
from tests.integration.service.stack import Stack, running_stack

PRODUCTS = 1200
LATENCY_MS = 800


def _link_all(stack: Stack) -> dict[str, int]:
    """Every Shopify variant linked to one of our products with a B2C stock that differs."""
    levels = stack.sim("GET", f"/levels?limit={PRODUCTS}")["levels"]
    rows = [
        {"p": f"p{n:05d}", "s": row["sku"], "b2c": row["available"] + 1 + n % 7,
         "v": str(row["variant_id"]), "i": row["inventory_item_id"]}
        for n, row in enumerate(levels)
    ]  # fmt: skip

    async def insert() -> None:
        engine = create_engine(stack.settings.database_url)
        try:
            async with engine.begin() as c:
                await c.execute(
                    text(
                        "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock,"
                        " shopify_variant_id, shopify_inventory_item_id, sync_enabled)"
                        " VALUES (:p, :s, 100, :b2c, :v, :i, true)"
                    ),
                    rows,
                )
        finally:
            await engine.dispose()

    asyncio.run(insert())
    return {row["s"]: row["b2c"] for row in rows}


def test_reconcile_outlives_several_tokens_and_every_product_ends_in_sync(
    database_url: str,
) -> None:
    """Tokens of 2 s, 800 ms per call, a write and a read refused 401: the reconcile renews
    as it goes, nothing fails, every product ends in sync and each item got one write of ours."""
    with running_stack(
        database_url,
        products=PRODUCTS,
        simulator={"token_lifetime_s": 2},
        SHOPIFY_ACCESS_TOKEN="",
        SHOPIFY_CLIENT_ID=DEFAULT_CLIENT_ID,
        SHOPIFY_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        PENDING_SCAN_INTERVAL_SECONDS="60",
    ) as stack:
        wanted = _link_all(stack)
        stack.sim("POST", "/faults/latency", json={"ms": LATENCY_MS})
        grants_before = stack.sim("GET", "/auth")["grants"]
        # A write and a read refused 401 mid-way, as when the token is revoked under them.
        for operation in ("inventorySetQuantities", "ReadLevels"):
            stack.sim(
                "POST",
                "/faults/api",
                json={"mode": "status", "status": 401, "count": 1, "match": operation},
            )
        with capture_logs() as logs:
            summary = stack.api("POST", "/sync/all").json()
        stack.sim("POST", "/faults/latency", json={"ms": 0})
        auth = stack.sim("GET", "/auth")
        levels = {r["sku"]: r for r in stack.sim("GET", f"/levels?limit={PRODUCTS}")["levels"]}
        ours = dict(stack.sql("SELECT sku, b2c_stock FROM product_inventory"))
        unsynced = stack.sql(
            "SELECT count(*) FROM product_inventory"
            " WHERE shopify_base IS NULL OR shopify_base <> b2c_stock OR sync_error IS NOT NULL"
        )[0][0]
        history = stack.sim("GET", f"/history?limit={PRODUCTS * 3}")["adjustments"]

    written: dict[int, int] = {}
    for group in history:
        if group["source"] == "app":
            for change in group["changes"]:
                if change["name"] == "available":
                    written[change["inventory_item_id"]] = (
                        written.get(change["inventory_item_id"], 0) + 1
                    )

    assert (summary["checked"], summary["failed"]) == (PRODUCTS, 0), summary
    assert auth["grants"] - grants_before >= 3, auth
    renewed = [e["operation"] for e in logs if e["event"] == "shopify_token_renewed_after_401"]
    assert {"SetAvailable", "ReadLevels"} <= set(renewed), renewed
    assert {sku: levels[sku]["available"] for sku in wanted} == wanted
    assert ours == wanted
    assert unsynced == 0
    assert len(written) == PRODUCTS and set(written.values()) == {1}


def test_serve_with_refused_credentials_stays_up_and_says_why(tmp_path: Path) -> None:
    """`serve` whose app was uninstalled starts, shows Shopify's auth failing in /health,
    syncs nothing meanwhile, and never logs the secret."""
    with run_in_thread(SimulatorConfig(products=2)) as shopify:
        httpx.post(f"{shopify}/_simulator/auth", json={"installed": False})
        location = httpx.get(f"{shopify}/_simulator/state").json()["locations"][0]["id"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY_", "SYNC_"))},
            "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
            "SHOPIFY_ADMIN_URL": shopify,
            "SHOPIFY_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SHOPIFY_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "SHOPIFY_LOCATION_ID": str(location),
            "SYNC_API_TOKEN": "serve-api-token",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "LOG_LEVEL": "INFO",
        }
        command = [sys.executable, "-m", "shopify_sync", "serve", "--port", str(port)]
        with subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as serve:
            try:
                health = _health_when_up(f"http://127.0.0.1:{port}/health", serve)
            finally:
                serve.terminate()
            output = serve.communicate(timeout=20)[0].decode()

    assert health["shopify"].startswith("auth failing: Shopify refused the client credentials")
    assert "SHOPIFY_CLIENT_SECRET" in health["shopify"]
    assert "not syncing yet" in (health["worker_error"] or "")
    assert "Shopify refused our credentials" in output
    assert DEFAULT_CLIENT_SECRET not in output + json.dumps(health)


def _health_when_up(url: str, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited"
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(url, timeout=5)
            body: dict[str, Any] = response.json()
            if body.get("worker_error"):
                return body
        time.sleep(0.2)
    raise AssertionError("serve did not report its state in time")
