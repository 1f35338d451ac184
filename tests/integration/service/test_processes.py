"""Several processes: two ``serve`` on one PostgreSQL, and the ``sync`` command line."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from shopify_sync.config import required
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.simulator.testing import run_app_in_thread
from tests.integration.service.stack import TOKEN, Stack, running_stack, wait_for


@pytest.fixture(name="stack")
def _stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as stack:
        stack.subscribe_webhooks()
        yield stack


@pytest.mark.postgres
def test_two_servers_on_one_database_lose_nothing(postgres_database_url: str) -> None:
    """Two services share a PostgreSQL; racing syncs, B2B writes and Shopify sales all count."""
    with running_stack(postgres_database_url) as stack:
        stack.subscribe_webhooks()
        with run_app_in_thread(create_app(stack.settings)) as second:
            for n in range(3):
                stack.link(f"p{n}", f"SKU-00000{n + 1}", b2c=40)
            stack.api("POST", "/sync/all")  # the first sync: B2B's 40 is the agreed start
            for n in range(3):
                wait_for(lambda n=n: stack.ours(f"p{n}") == (40, 40), what="first sync")  # type: ignore[misc]
            services = [stack.service, second]

            def hammer(round_: int) -> None:
                pid = f"p{round_ % 3}"
                if round_ % 4 == 0:
                    stack.sql(
                        "UPDATE product_inventory SET b2c_stock = b2c_stock - 1"
                        " WHERE product_id = :p",
                        p=pid,
                    )
                elif round_ % 4 == 1:
                    stack.sim("POST", "/orders", json={"line_items": [
                        {"sku": f"SKU-00000{round_ % 3 + 1}", "quantity": 1}]})  # fmt: skip
                httpx.post(
                    f"{services[round_ % 2]}/sync/{pid}",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=30,
                )

            with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
                list(pool.map(hammer, range(36)))
            stack.api("POST", "/sync/all")

            # 36 rounds over 3 products: each got 3 B2B -1 and 3 Shopify sales of 1.
            for n in range(3):
                pid, sku = f"p{n}", f"SKU-00000{n + 1}"
                try:
                    wait_for(lambda pid=pid: stack.ours(pid) == (34, 34), what=f"{pid} agreement")  # type: ignore[misc]
                except AssertionError:
                    log = stack.sql(
                        "SELECT direction, source, old_value, new_value, delta, reference"
                        " FROM inventory_sync_log WHERE product_id = :p ORDER BY id",
                        p=pid,
                    )
                    raise AssertionError(
                        f"{pid}: ours {stack.ours(pid)}, Shopify {stack.available(sku)}; "
                        + "; ".join(map(str, log))
                    ) from None
                assert stack.available(sku) == 34


def test_sync_command_line(stack: Stack) -> None:
    """`shopify-sync sync --all --dry-run --json`, `sync ID` and `sync --all` work as a process."""
    start = stack.available("SKU-000001")
    stack.link("p1", "SKU-000001", b2c=start, variant_only=False)
    stack.sql(
        "UPDATE product_inventory SET shopify_base = b2c_stock, pool_base = b2c_stock,"
        " allocation_policy = 'split' WHERE product_id = 'p1'"  # as a sync leaves it
    )
    stack.sim("POST", "/faults/webhooks", json={"action": "drop", "count": 1})
    stack.sim("POST", "/merchant/adjust", json={"sku": "SKU-000001", "delta": -2})
    env = {**os.environ, **_env(stack)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shopify_sync", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    dry = run("sync", "--all", "--dry-run", "--json")
    one = run("sync", "p1")
    unknown = run("sync", "nope")
    every = run("sync", "--all")

    assert dry.returncode == 0, dry.stderr
    assert '"product_id": "p1"' in dry.stdout and '"our_change": -2' in dry.stdout
    assert (one.returncode, "p1: pulled" in one.stdout) == (0, True), one.stdout + one.stderr
    assert stack.ours("p1") == (start - 2, start - 2)
    assert unknown.returncode == 3 and "no product with id 'nope'" in unknown.stderr
    assert every.returncode == 0 and "checked 1, changed 0, failed 0" in every.stdout


def _env(stack: Stack) -> dict[str, str]:
    s = stack.settings
    return {
        "SHOPIFY_STORE_DOMAIN": required(s.shopify_store_domain, "SHOPIFY_STORE_DOMAIN"),
        "SHOPIFY_API_VERSION": s.shopify_api_version,
        "SHOPIFY_ACCESS_TOKEN": required(
            s.shopify_access_token, "SHOPIFY_ACCESS_TOKEN"
        ).get_secret_value(),
        "SHOPIFY_WEBHOOK_SECRET": required(
            s.shopify_webhook_secret, "SHOPIFY_WEBHOOK_SECRET"
        ).get_secret_value(),
        "SHOPIFY_LOCATION_ID": str(s.shopify_location_id),
        "SHOPIFY_ADMIN_URL": s.admin_base_url,
        "SYNC_API_TOKEN": required(s.sync_api_token, "SYNC_API_TOKEN").get_secret_value(),
        "DATABASE_URL": s.database_url,
        "LOG_LEVEL": "WARNING",
    }
