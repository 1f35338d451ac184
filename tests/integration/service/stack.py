"""The whole stack over real HTTP: the local Shopify simulator and ``serve``, each on its own
port in a background thread, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.config import Settings, load_settings
from shopify_sync.domain.allocation import Allocation
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.testing import run_app_in_thread, run_in_thread

TOKEN = "e2e-api-token"
SECRET = "shpss_e2e_secret"
ACCESS = "shpat_e2e_token"
API_VERSION = "2026-10"


@dataclass
class Stack:
    """The running simulator and service, and helpers to drive and inspect them."""

    shopify: str
    service: str
    settings: Settings
    location_id: int
    env: dict[str, str] = field(default_factory=dict)
    """The settings as environment variables, for the command line (:meth:`cli`)."""

    # -- Shopify side -------------------------------------------------------------------
    def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.shopify}/_simulator{path}", timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def levels(self) -> dict[str, dict[str, Any]]:
        """Shopify's levels by SKU."""
        return {row["sku"]: row for row in self.sim("GET", "/levels?limit=1000")["levels"]}

    def available(self, sku: str) -> int:
        return int(self.levels()[sku]["available"])

    def graphql(self, query: str, variables: dict[str, Any]) -> Any:
        response = httpx.post(
            f"{self.shopify}/admin/api/{API_VERSION}/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": ACCESS},
            timeout=10,
        )
        return response.json()

    def subscribe_webhooks(self) -> None:
        """Point Shopify's two webhooks at the service, as `webhooks register` would."""
        for topic, path in (
            ("INVENTORY_LEVELS_UPDATE", "/webhooks/inventory-update"),
            ("ORDERS_CREATE", "/webhooks/orders-create"),
        ):
            result = self.graphql(
                "mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {"
                " webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) {"
                " userErrors { message } } }",
                {"t": topic, "s": {"uri": f"{self.service}{path}", "format": "JSON"}},
            )
            assert result["data"]["webhookSubscriptionCreate"]["userErrors"] == [], result

    # -- our side -------------------------------------------------------------------------
    def sql(self, statement: str, **params: Any) -> list[Any]:
        async def run() -> list[Any]:
            engine = create_engine(self.settings.database_url)
            try:
                async with engine.begin() as c:
                    result = await c.execute(text(statement), params)
                    return list(result.all()) if result.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(run())

    def link(
        self,
        product_id: str,
        sku: str,
        *,
        b2c: int,
        variant_only: bool = True,
        b2b: int = 100,
        allocation: Allocation | None = None,
    ) -> None:
        """A product row as the Inventory Service writes it: linked by variant, enabled
        (``allocation``: its own policy, buffer and cap; None: the settings' default)."""
        level = self.levels()[sku]
        self.sql(
            "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock,"
            " shopify_variant_id, shopify_inventory_item_id, sync_enabled,"
            " allocation_policy, allocation_buffer, allocation_cap)"
            " VALUES (:p, :s, :b2b, :b2c, :v, :i, true, :policy, :buffer, :cap)",
            p=product_id, s=sku, b2b=b2b, b2c=b2c, v=str(level["variant_id"]),
            i=None if variant_only else level["inventory_item_id"],
            policy=allocation and allocation.policy, buffer=allocation and allocation.buffer,
            cap=allocation and allocation.cap,
        )  # fmt: skip

    def ours(self, product_id: str) -> tuple[int, int | None]:
        """Our (b2c_stock, shopify_base)."""
        rows = self.sql(
            "SELECT b2c_stock, shopify_base FROM product_inventory WHERE product_id = :p",
            p=product_id,
        )
        return int(rows[0][0]), rows[0][1]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``shopify-sync ARGS`` as its own process on the stack's settings."""
        return subprocess.run(
            [sys.executable, "-m", "shopify_sync", *args],
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.service}{path}", headers=headers, timeout=30, **kwargs)


def wait_for(condition: Callable[[], bool], *, timeout_s: float = 15.0, what: str = "") -> None:
    """Poll until ``condition`` holds (the stack works in background threads)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def service_env(database_url: str, shopify: str, location: int) -> dict[str, str]:
    """The service's settings on ``database_url`` and the simulator at ``shopify``."""
    return {
        "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
        "SHOPIFY_API_VERSION": API_VERSION,
        "SHOPIFY_ACCESS_TOKEN": ACCESS,
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SHOPIFY_LOCATION_ID": str(location),
        "SHOPIFY_ADMIN_URL": shopify,
        "SYNC_API_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "PENDING_SCAN_INTERVAL_SECONDS": "0.2",
        "RECONCILE_INTERVAL_SECONDS": "3600",
    }


@contextlib.contextmanager
def running_stack(
    database_url: str,
    *,
    products: int = 4,
    simulator: dict[str, Any] | None = None,
    **env: str,
) -> Iterator[Stack]:
    """Start the simulator (``simulator``: more of its settings) and the service (``env``:
    more of its settings, an empty value unsets one); stop both afterwards."""
    sim_config = SimulatorConfig(
        products=products,
        access_token=ACCESS,
        webhook_secret=SECRET,
        webhook_retry_scale=0.0005,
        webhook_timeout_s=5.0,
        seed=7,
        **(simulator or {}),
    )
    with run_in_thread(sim_config) as shopify:
        location = httpx.get(f"{shopify}/_simulator/state").json()["locations"][0]["id"]
        variables = {
            **service_env(database_url, shopify, int(location)),
            "SYNC_RETRY_BASE_SECONDS": "0.3",
            "SHOPIFY_OUTAGE_PAUSE_SECONDS": "0.3",
            "SYNC_MAX_ATTEMPTS": "20",
            **env,
        }
        settings = load_settings(variables, env_file=None)
        with run_app_in_thread(create_app(settings)) as service:
            yield Stack(shopify, service, settings, int(location), variables)
