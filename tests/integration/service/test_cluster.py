"""Three ``serve`` processes on one PostgreSQL behind a round-robin load balancer: webhooks
spread across them, B2B changes and syncs through any of them racing the scheduled
reconcile (every 5 s, one process at a time by its lease); afterwards the invariants of the
randomized stack test hold (both sides agree, every unit is in our log exactly once)."""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopify_sync import bootstrap
from shopify_sync.config import load_settings
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from tests.integration.service.cluster import load_balancer, serve_env, serve_process
from tests.integration.service.stack import ACCESS, SECRET, Stack, wait_for
from tests.integration.service.test_random_stack import _history, _ledger

SKUS = ("SKU-000001", "SKU-000002", "SKU-000003")
STEPS = 30
PROCESSES = 3


@pytest.mark.postgres
@pytest.mark.parametrize("schedule", range(2))
def test_three_servers_behind_a_balancer_lose_nothing(
    postgres_database_url: str, tmp_path: Path, schedule: int
) -> None:
    """Random B2B writes, Shopify orders and edits, syncs and reconciles through any of three
    processes, webhook and API faults: both sides agree and every unit counts once."""
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
        stack = Stack(shopify, balancer, settings, location)
        stack.subscribe_webhooks()
        expected = {f"p{n}": 50 + n for n in range(len(SKUS))}
        for pid, value in expected.items():
            stack.link(pid, SKUS[int(pid[1:])], b2c=value)
        assert stack.api("POST", "/sync/all").status_code == 200
        wait_for(lambda: all(stack.ours(p)[1] is not None for p in expected), what="first sync")
        events = _play(stack, rng, expected)

        stack.sim("DELETE", "/faults")
        stack.sim("POST", "/webhooks/release", json={"order": "reverse"})
        wait_for(
            lambda: not [w for w in stack.sim("GET", "/webhooks")["webhooks"]
                         if w["status"] in ("pending", "retrying", "held")],
            timeout_s=60, what="webhook deliveries to settle",
        )  # fmt: skip
        wait_for(
            lambda: stack.sql("SELECT count(*) FROM outbound_writes")[0][0] == 0,
            timeout_s=60, what="writes in flight to be answered",
        )  # fmt: skip
        summaries: list[Any] = []

        def reconciled() -> bool:
            summaries.append(stack.api("POST", "/sync/all").json())
            return bool(summaries[-1].get("failed") == 0)

        wait_for(reconciled, timeout_s=60, what="a reconcile that Shopify answers")
        deliveries = {
            str(row[0]): int(row[1])
            for row in stack.sql("SELECT topic, count(*) FROM webhook_events GROUP BY topic")
        }

        context = f"schedule {schedule}: {'; '.join(events)}; reconciles {summaries}"
        for pid, value in expected.items():
            sku = SKUS[int(pid[1:])]
            seen = (stack.ours(pid), stack.available(sku), _ledger(stack, pid))
            if seen != ((value, value), value, value):
                context += f"\n{pid} expected {value}, seen {seen}" + _history(stack, pid, sku)
            assert seen == ((value, value), value, value), context
        assert deliveries.get("inventory_levels/update", 0) > 0, deliveries
        served = [_served_webhooks(tmp_path / f"serve-{n}.log") for n in range(PROCESSES)]
        assert all(served), f"every process took webhooks: {served}"


def _play(stack: Stack, rng: random.Random, expected: dict[str, int]) -> list[str]:
    """The random steps; ``expected`` follows every unit sold or moved."""
    events: list[str] = []
    for _ in range(STEPS):
        roll = rng.random()
        pid = rng.choice(sorted(expected))
        sku = SKUS[int(pid[1:])]
        if roll < 0.25:
            delta = rng.randint(-3, 4)
            expected[pid] += delta
            events.append(f"b2b {pid} {delta:+d}")
            stack.sql(
                "UPDATE product_inventory SET b2c_stock = b2c_stock + :d WHERE product_id = :p",
                d=delta, p=pid,
            )  # fmt: skip
            if rng.random() < 0.5:
                stack.api("POST", f"/sync/{pid}")  # the Inventory Service's call, any process
        elif roll < 0.45:
            quantity = rng.randint(1, 3)
            stack.sim("POST", "/orders", json={"line_items": [{"sku": sku, "quantity": quantity}]})
            expected[pid] -= quantity
            events.append(f"order {pid} -{quantity}")
        elif roll < 0.55:
            delta = rng.randint(-2, 5)
            stack.sim("POST", "/merchant/adjust", json={"sku": sku, "delta": delta})
            expected[pid] += delta
            events.append(f"edit {pid} {delta:+d}")
        elif roll < 0.65:
            events.append("sync all")
            stack.api("POST", "/sync/all")  # racing the scheduled reconcile of another process
        elif roll < 0.8:
            action = rng.choice(("duplicate", "hold", "delay", "reorder"))
            events.append(f"webhook fault {action}")
            rule = {"action": action, "count": rng.randint(1, 3), "delay_s": 0.5}
            stack.sim("POST", "/faults/webhooks", json=rule)
        elif roll < 0.9:
            status = rng.choice((429, 500, 503))
            mode = rng.choice(("status", "lose_response"))
            events.append(f"api fault {mode} {status}")
            stack.sim("POST", "/faults/api", json={"mode": mode, "status": status, "count": 1})
        else:
            events.append("release held webhooks")
            stack.sim(
                "POST", "/webhooks/release", json={"order": rng.choice(("reverse", "shuffle"))}
            )
        time.sleep(rng.choice((0.0, 0.1, 0.4)))
    return events


def _served_webhooks(log: Path) -> int:
    """How many webhook deliveries a process answered (uvicorn's access log)."""
    return sum("/webhooks/inventory-update" in line for line in log.read_text().splitlines())
