"""Entrypoint: ``shopify-sync demo``: the whole flow on this machine, offline.

Starts the local Shopify simulator and ``shopify-sync serve`` (SQLite) as two processes,
links a small catalogue the way the B2B platform's Inventory Service would (rows written
straight to ``product_inventory``, linked by variant id only), subscribes the webhooks,
then plays a scenario through real HTTP and prints both sides after each step.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, allocation_of, explain
from shopify_sync.sync_client import SyncClient, SyncClientError

TOKEN = "demo-sync-api-token"
CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "shpss_demo_client_secret"
"""The simulated Dev Dashboard app: the service exchanges these for expiring tokens, and its
webhooks are signed with the client secret (SHOPIFY_WEBHOOK_SECRET is left unset)."""
INHERITED_OUT = (
    "SHOPIFY_ACCESS_TOKEN",
    "SHOPIFY_WEBHOOK_SECRET",
    "SHOPIFY_WEBHOOK_SECRET_PREVIOUS",
)
VERSION = "2026-10"
CATALOGUE = (
    ("prod_001", "SKU-000001", "Espresso cups (6)", 120, 20),
    ("prod_002", "SKU-000002", "Milk jug 0.5 l", 60, 12),
    ("prod_003", "SKU-000003", "Tamper 58 mm", 40, 8),
)


@dataclass
class Demo:
    """The two running processes and how to reach them."""

    shopify: str
    service: str
    db: Path
    client: SyncClient
    http: httpx.Client
    env: dict[str, str] = field(default_factory=dict)
    """The service's environment, for the merchant's commands (``shopify-sync ...``)."""

    def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.shopify}/_simulator{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def shopify_levels(self) -> dict[str, int]:
        rows = self.sim("GET", "/levels?limit=100")["levels"]
        return {row["sku"]: int(row["available"]) for row in rows}

    def ours(self) -> dict[str, tuple[int, int, int | None, str | None]]:
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            rows = db.execute(
                "SELECT sku, b2b_stock, b2c_stock, shopify_base, sync_error"
                " FROM product_inventory ORDER BY product_id"
            ).fetchall()
        return {sku: (b2b, b2c, base, error) for sku, b2b, b2c, base, error in rows}

    def inventory_service(self, sql: str, *params: object) -> None:
        """A write straight to the table, as the B2B platform's Inventory Service makes it."""
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as db:
            db.execute(sql, params)
            db.commit()

    def show(self, title: str) -> None:
        ours, theirs = self.ours(), self.shopify_levels()
        typer.echo(f"\n== {title}")
        typer.echo(f"   {'sku':<12} {'b2b':>5} {'b2c (ours)':>11} {'Shopify':>8}  state")
        for sku, (b2b, b2c, base, error) in ours.items():
            shop = theirs.get(sku)
            state = "in sync" if b2c == shop == base else "pending"
            if error:
                state = "error: " + state_text(error)
            typer.echo(f"   {sku:<12} {b2b:>5} {b2c:>11} {shop!s:>8}  {state}")

    def merchant(self, *args: str) -> str:
        """Run ``shopify-sync ARGS`` as the merchant would, beside the running service."""
        done = subprocess.run(
            [sys.executable, "-m", "shopify_sync", *args], env=self.env, cwd=self.db.parent,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise typer.Exit(f"demo: shopify-sync {' '.join(args)} failed: {done.stderr}")  # type: ignore[arg-type]
        return done.stdout

    def why(self, product_id: str) -> str:
        """How the quantity Shopify shows for the product comes about (its allocation)."""
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            b2b, b2c, policy, buffer, cap = db.execute(
                "SELECT b2b_stock, b2c_stock, allocation_policy, allocation_buffer,"
                " allocation_cap FROM product_inventory WHERE product_id = ?",
                (product_id,),
            ).fetchone()
        return explain(b2b, b2c, allocation_of(policy, buffer, cap, DEFAULT_ALLOCATION))

    def settle(self, condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise typer.Exit(f"demo: timed out waiting for {what}")  # type: ignore[arg-type]

    def agree(self) -> bool:
        theirs = self.shopify_levels()
        return all(
            b2c == theirs.get(sku) == base and error is None
            for sku, (_, b2c, base, error) in self.ours().items()
        )


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise typer.Exit(f"demo: {name} exited with code {process.returncode}")  # type: ignore[arg-type]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise typer.Exit(f"demo: {name} did not start")  # type: ignore[arg-type]


@contextlib.contextmanager
def _processes(workdir: Path, keep: bool) -> Iterator[tuple[str, str, Path, dict[str, str]]]:
    sim_port, api_port = _free_port(), _free_port()
    shopify, service = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    db = workdir / "demo.db"
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_OUT}
    env |= {"SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "shopify_sync"]
    simulator = subprocess.Popen(
        [*command, "simulator", "--port", str(sim_port), "--products", str(len(CATALOGUE) + 2),
         "--webhook-retry-scale", "0.001"],
        env=env, stdout=(logs / "simulator.log").open("wb"), stderr=subprocess.STDOUT,
        cwd=workdir,  # away from a .env of the user's, which both processes would read
    )  # fmt: skip
    processes = [simulator]
    try:
        _wait_http(f"{shopify}/_simulator/health", simulator, "the simulator")
        location = httpx.get(f"{shopify}/_simulator/state").json()["locations"][0]["id"]
        service_env = {
            **env,
            "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
            "SHOPIFY_API_VERSION": VERSION,
            "SHOPIFY_LOCATION_ID": str(location),
            "SHOPIFY_ADMIN_URL": shopify,
            "SYNC_API_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite:///{db}",
            "PENDING_SCAN_INTERVAL_SECONDS": "0.5",
            "SYNC_RETRY_BASE_SECONDS": "1",
            "SHOPIFY_OUTAGE_PAUSE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [*command, "serve", "--port", str(api_port)],
            env=service_env, stdout=(logs / "service.log").open("wb"), stderr=subprocess.STDOUT,
            cwd=workdir,
        )  # fmt: skip
        processes.append(server)
        _wait_http(f"{service}/health", server, "the service")
        yield shopify, service, db, service_env
        if keep:
            typer.echo(f"\nRunning. Shopify simulator: {shopify}/_simulator/state")
            typer.echo(f"Admin page: {service}/admin (sign in with {TOKEN})")
            typer.echo(f"shopify-sync API: {service}/docs   health: {service}/health")
            typer.echo(f"Bearer token: {TOKEN}   database: {db}   logs: {logs}")
            typer.echo("Press Ctrl+C to stop both.")
            with contextlib.suppress(KeyboardInterrupt):
                while all(p.poll() is None for p in processes):
                    time.sleep(0.5)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def demo(
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running", help="Leave the simulator and the service running afterwards."
        ),
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the SQLite database and logs go (default: a temporary folder)."),
    ] = None,
) -> None:
    """Play the whole flow against the local Shopify simulator and show both sides agree."""
    base = workdir or Path(tempfile.mkdtemp(prefix="shopify-sync-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    with _processes(base, keep_running) as (shopify, service, db, env):
        http = httpx.Client(timeout=15)
        with SyncClient(service, TOKEN) as client:
            play(Demo(shopify, service, db, client, http, env))
        http.close()


def play(d: Demo) -> None:
    """The scenario, step by step."""
    levels = d.sim("GET", "/levels?limit=100")["levels"]
    variant = {row["sku"]: row["variant_id"] for row in levels}
    for product_id, sku, title, b2b, b2c in CATALOGUE:
        d.inventory_service(
            "INSERT INTO product_inventory (product_id, sku, title, b2b_stock, b2c_stock,"
            " shopify_variant_id, sync_enabled) VALUES (?, ?, ?, ?, ?, ?, 1)",
            product_id, sku, title, b2b, b2c, str(variant[sku]),
        )  # fmt: skip
    # The app's client credentials buy a token, as the service does for itself.
    grant = d.http.post(
        f"{d.shopify}/admin/oauth/access_token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
        },
    )
    grant.raise_for_status()
    access = grant.json()["access_token"]
    for topic, path in (
        ("INVENTORY_LEVELS_UPDATE", "inventory-update"),
        ("ORDERS_CREATE", "orders-create"),
    ):
        d.http.post(
            f"{d.shopify}/admin/api/{VERSION}/graphql.json",
            headers={"X-Shopify-Access-Token": access},
            json={
                "query": "mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!)"
                " { webhookSubscriptionCreate(topic: $t, webhookSubscription: $s)"
                " { userErrors { message } } }",
                "variables": {"t": topic, "s": {"uri": f"{d.service}/webhooks/{path}"}},
            },
        ).raise_for_status()
    typer.echo(f"Simulator {d.shopify}, service {d.service}; 3 products linked by variant id.")
    typer.echo(
        f"Both authenticate as a Dev Dashboard app (client ID {CLIENT_ID}): its client "
        f"credentials are exchanged for tokens that expire after {grant.json()['expires_in']} s."
    )
    d.show("0. Before the first sync: Shopify holds its own random quantities")

    summary = d.client.sync_all()
    d.settle(d.agree, "the first sync")
    d.show(f"1. First sync (B2B is the source of truth): {summary['changed']} products pushed")

    d.inventory_service(
        "UPDATE product_inventory SET b2b_stock = b2b_stock - 5, b2c_stock = b2c_stock - 3"
        " WHERE product_id = 'prod_001'"
    )
    result = d.client.sync_product("prod_001")
    d.show(f"2. B2B order of 5 (B2C allocation -3), POST /sync/prod_001: {result.action}")

    d.sim("POST", "/orders", json={"line_items": [{"sku": "SKU-000002", "quantity": 2}]})
    d.settle(lambda: d.ours()["SKU-000002"][1] == 10 and d.agree(), "the Shopify order")
    d.show("3. Shopify order of 2 x SKU-000002: webhooks counted it once")

    d.sim("POST", "/merchant/adjust", json={"sku": "SKU-000003", "delta": 10})
    d.settle(lambda: d.ours()["SKU-000003"][1] == 18 and d.agree(), "the merchant edit")
    d.show("4. Merchant adds 10 x SKU-000003 in the Shopify admin")

    d.sim("POST", "/faults/webhooks", json={"action": "duplicate", "count": 1})
    d.sim("POST", "/faults/webhooks", json={"action": "hold", "count": 2})
    d.sim("POST", "/merchant/adjust", json={"sku": "SKU-000001", "delta": -1})
    time.sleep(1.1)  # a second later, on Shopify's one-second clock
    d.sim("POST", "/merchant/adjust", json={"sku": "SKU-000001", "delta": -1})
    d.sim("POST", "/webhooks/release", json={"order": "reverse"})
    d.settle(lambda: d.ours()["SKU-000001"][1] == 15 and d.agree(), "the late webhooks")
    d.show("5. Two edits, their webhooks duplicated and delivered late in reverse order")

    d.sim("POST", "/faults/api", json={"mode": "status", "status": 503, "count": 1000})
    d.inventory_service("UPDATE product_inventory SET b2c_stock = 30 WHERE product_id = 'prod_002'")
    try:
        d.client.sync_product("prod_002")
    except SyncClientError as exc:
        typer.echo(f"\n   POST /sync/prod_002 -> {exc.status}: {exc}")
    d.show("6. Shopify outage during a B2B change: the error is recorded, nothing is lost")
    d.sim("DELETE", "/faults")
    d.settle(d.agree, "the retry after the outage", timeout_s=30)
    d.show("7. Shopify back: the retry pushed the change and cleared the error")

    shared_pool(d)

    health = d.client.health()
    typer.echo(
        f"\nBoth sides agree on every product. Health: database {health['database']}, "
        f"Shopify {health['shopify']}, products with errors {health['products_with_errors']}."
    )


def shared_pool(d: Demo) -> None:
    """prod_003 sells from one pool on both channels, with the last 5 units kept off Shopify."""
    d.merchant("products", "allocate", "prod_003", "--policy", "shared", "--buffer", "5")
    d.settle(lambda: d.ours()["SKU-000003"][1] == 53 and d.agree(), "the switch to a shared pool")
    d.show(
        "8. products allocate prod_003 --policy shared --buffer 5: one pool (b2b_stock) for both"
    )
    typer.echo(f"   {d.why('prod_003')}")

    d.inventory_service(
        "UPDATE product_inventory SET b2b_stock = b2b_stock - 8 WHERE product_id = 'prod_003'"
    )
    d.settle(lambda: d.shopify_levels()["SKU-000003"] == 45 and d.agree(), "the B2B order")
    d.show("9. B2B order of 8 x SKU-000003 (b2b_stock -8): Shopify shows 8 fewer")
    typer.echo(f"   {d.why('prod_003')}")

    d.sim("POST", "/orders", json={"line_items": [{"sku": "SKU-000003", "quantity": 3}]})
    d.settle(lambda: d.ours()["SKU-000003"][0] == 47 and d.agree(), "the Shopify order")
    d.show("10. Shopify order of 3 x SKU-000003: b2b_stock -3, the B2B platform sees it")
    typer.echo(f"   {d.why('prod_003')}")

    d.inventory_service(
        "UPDATE product_inventory SET b2b_stock = b2b_stock - 44 WHERE product_id = 'prod_003'"
    )
    d.settle(lambda: d.shopify_levels()["SKU-000003"] == 0 and d.agree(), "the last units")
    d.show("11. B2B order of 44: the pool holds 3, the buffer keeps them off Shopify (shows 0)")
    typer.echo(f"   {d.why('prod_003')}")


STATE_WIDTH = 90
"""Characters of an error the demo's state column shows (cut at a word, never inside one)."""


def state_text(error: str) -> str:
    """The error without its leading time, shortened at a word boundary with `...`."""
    text = " ".join(error.split(" UTC: ", 1)[-1].split())
    if len(text) <= STATE_WIDTH:
        return text
    cut = text[: STATE_WIDTH + 1].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return f"{cut} ..."
