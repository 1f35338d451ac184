"""Three ``serve`` processes on one PostgreSQL behind a round-robin load balancer: webhooks
spread across them, B2B changes and syncs through any of them racing the scheduled
reconcile (every 5 s, one process at a time by its lease); afterwards the invariants of the
randomized stack test hold (both sides agree, every unit is in our log exactly once). The
steps and the checks are tests/integration/service/schedules.py's."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import httpx
import pytest

from shopify_sync import bootstrap
from shopify_sync.config import load_settings
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from tests.integration.service.cluster import load_balancer, serve_env, serve_process
from tests.integration.service.schedules import (
    SKUS,
    Profile,
    check_invariants,
    link_products,
    play,
    settle,
)
from tests.integration.service.stack import ACCESS, SECRET, Stack

PROCESSES = 3
CLUSTER = Profile(
    steps=30,
    webhook_faults=("duplicate", "hold", "delay", "reorder"),
    api_modes=("status", "lose_response"),
    api_statuses=(429, 500, 503),
    api_fault_count=1,
    sync="all",  # through any process, racing another's scheduled reconcile
    sync_after_b2b=0.5,  # the Inventory Service's call, through any process
    pauses=(0.0, 0.1, 0.4),
    settle_timeout_s=60,
)


@pytest.mark.postgres
@pytest.mark.parametrize("schedule", range(2))
def test_three_servers_behind_a_balancer_lose_nothing(
    postgres_database_url: str, tmp_path: Path, schedule: int
) -> None:
    """Random B2B writes, Shopify orders and edits, syncs and reconciles through any of three
    processes, policy changes, webhook and API faults: Shopify shows what each product's
    policy publishes and every unit counts once."""
    rng = random.Random(9_000 + schedule)
    url = postgres_database_url
    bootstrap.upgrade_database(url)  # once, as a release would: the processes do not race
    config = SimulatorConfig(
        products=len(SKUS), access_token=ACCESS, webhook_secret=SECRET,
        webhook_retry_scale=0.0005, webhook_timeout_s=5.0, seed=7,
    )  # fmt: skip
    with run_in_thread(config) as shopify, contextlib.ExitStack() as processes:
        location = int(httpx.get(f"{shopify}/_simulator/state").json()["locations"][0]["id"])
        env = serve_env(
            url, shopify, location, AUTO_MIGRATE="false", RECONCILE_INTERVAL_SECONDS="5",
            PENDING_SCAN_INTERVAL_SECONDS="0.3", SYNC_RETRY_BASE_SECONDS="0.3",
            SHOPIFY_OUTAGE_PAUSE_SECONDS="0.3", SYNC_MAX_ATTEMPTS="20",
        )  # fmt: skip
        backends = [
            processes.enter_context(serve_process(env, tmp_path / f"serve-{n}.log"))[0]
            for n in range(PROCESSES)
        ]
        balancer = processes.enter_context(load_balancer(backends))
        settings = load_settings({**env, "DATABASE_URL": url}, env_file=None)
        stack = Stack(shopify, balancer, settings, location, env)
        stack.subscribe_webhooks()
        products = link_products(stack, rng)
        events = play(stack, rng, products, CLUSTER)
        summaries = settle(stack, CLUSTER.settle_timeout_s)
        deliveries = {
            str(row[0]): int(row[1])
            for row in stack.sql("SELECT topic, count(*) FROM webhook_events GROUP BY topic")
        }
        check_invariants(
            stack, products, f"schedule {schedule}: {'; '.join(events)}; reconciles {summaries}"
        )
        assert deliveries.get("inventory_levels/update", 0) > 0, deliveries
        served = [_served_webhooks(tmp_path / f"serve-{n}.log") for n in range(PROCESSES)]
        assert all(served), f"every process took webhooks: {served}"


def _served_webhooks(log: Path) -> int:
    """How many webhook deliveries a process answered (uvicorn's access log)."""
    return sum("/webhooks/inventory-update" in line for line in log.read_text().splitlines())
