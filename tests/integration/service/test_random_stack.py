"""Randomized schedules through the real stack: the simulator and ``serve`` over HTTP.

The in-process interleaving test (tests/unit/services/test_interleaving.py) runs hundreds of
schedules against a fake Shopify; this one runs a few against the simulator, with its real
webhook deliveries (duplicated, held and released out of order, delayed, dropped), injected
429/5xx and lost answers, the service's own background loop racing the test's B2B writes,
and Shopify's real compare-and-set and idempotency. SHOPIFY_SYNC_STACK_SCHEDULES sets how
many (default 3).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import pytest

from tests.integration.service.stack import Stack, running_stack, wait_for

SCHEDULES = int(os.environ.get("SHOPIFY_SYNC_STACK_SCHEDULES", "3"))
SKUS = ("SKU-000001", "SKU-000002", "SKU-000003")
STEPS = 25


def _ledger(stack: Stack, product_id: str) -> int:
    rows = stack.sql(
        "SELECT COALESCE(SUM(delta), 0) FROM inventory_sync_log WHERE product_id = :p"
        " AND field = 'b2c_stock' AND direction IN ('inbound', 'local')",
        p=product_id,
    )
    return int(rows[0][0])


def _history(stack: Stack, product_id: str, sku: str) -> str:
    """What each side did to one product, for the failure message."""
    log = stack.sql(
        "SELECT id, direction, source, field, old_value, new_value, delta, reference, detail"
        " FROM inventory_sync_log WHERE product_id = :p ORDER BY id",
        p=product_id,
    )
    row = stack.sql("SELECT * FROM product_inventory WHERE product_id = :p", p=product_id)
    lines = [f"\n{product_id}: Shopify available {stack.available(sku)}; row {row[0]}"]
    lines += [f"  log {tuple(entry)}" for entry in log]
    for group in reversed(stack.sim("GET", f"/history?sku={sku}&limit=1000")["adjustments"]):
        changes = [(c["name"], c["delta"], c["quantity_after_change"]) for c in group["changes"]]
        lines.append(
            f"  shopify {group['created_at']} {group['reason']} {changes}"
            f" {group['reference_document_uri']}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("schedule", range(SCHEDULES))
def test_random_schedule_through_the_stack(database_url: str, schedule: int) -> None:
    """After random faults stop and one reconcile runs, both sides agree and every unit counts
    (on SQLite, and on PostgreSQL, whose webhook batches write without locks first)."""
    rng = random.Random(7_000 + schedule)
    with running_stack(
        database_url, products=len(SKUS), PENDING_SCAN_INTERVAL_SECONDS="0.3"
    ) as stack:
        stack.subscribe_webhooks()
        expected: dict[str, int] = {}
        for n, sku in enumerate(SKUS):
            pid = f"p{n}"
            stack.link(pid, sku, b2c=50 + n)
            expected[pid] = 50 + n
        assert stack.api("POST", "/sync/all").status_code == 200
        wait_for(lambda: all(stack.ours(p)[1] is not None for p in expected), what="first sync")
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
            elif roll < 0.45:
                quantity = rng.randint(1, 3)
                order = stack.sim(
                    "POST", "/orders", json={"line_items": [{"sku": sku, "quantity": quantity}]}
                )
                assert "order" in order
                expected[pid] -= quantity
                events.append(f"order {pid} -{quantity}")
            elif roll < 0.55:
                delta = rng.randint(-2, 5)
                stack.sim("POST", "/merchant/adjust", json={"sku": sku, "delta": delta})
                expected[pid] += delta
                events.append(f"edit {pid} {delta:+d}")
            elif roll < 0.65:
                events.append(f"sync {pid}")
                stack.api("POST", f"/sync/{pid}")
            elif roll < 0.8:
                action = rng.choice(("duplicate", "hold", "delay", "drop", "reorder"))
                events.append(f"webhook fault {action}")
                rule = {"action": action, "count": rng.randint(1, 3), "delay_s": 0.5}
                stack.sim("POST", "/faults/webhooks", json=rule)
            elif roll < 0.9:
                mode = rng.choice(("status", "status", "lose_response"))
                status = rng.choice((429, 500, 502, 503))
                events.append(f"api fault {mode} {status}")
                fault = {"mode": mode, "status": status, "count": rng.randint(1, 2)}
                stack.sim("POST", "/faults/api", json=fault)
            else:
                events.append("release held webhooks")
                stack.sim(
                    "POST", "/webhooks/release", json={"order": rng.choice(("reverse", "shuffle"))}
                )
            time.sleep(rng.choice((0.0, 0.05, 0.3)))

        # Faults stop; held webhooks arrive late; deliveries settle; one reconcile runs.
        stack.sim("DELETE", "/faults")
        stack.sim("POST", "/webhooks/release", json={"order": "reverse"})
        wait_for(
            lambda: not [w for w in stack.sim("GET", "/webhooks")["webhooks"]
                         if w["status"] in ("pending", "retrying", "held")],
            timeout_s=30, what="webhook deliveries to settle",
        )  # fmt: skip
        wait_for(
            lambda: stack.sql("SELECT count(*) FROM outbound_writes")[0][0] == 0,
            timeout_s=30, what="writes in flight to be answered",
        )  # fmt: skip
        # A fault just before they stopped may have paused Shopify calls (the outage pause,
        # 0.3 s here, twice as long after each failed probe): a reconcile during the pause
        # fails every product without sending anything, so run it until Shopify answers.
        summaries: list[dict[str, Any]] = []

        def reconciled() -> bool:
            summaries.append(stack.api("POST", "/sync/all").json())
            return bool(summaries[-1]["failed"] == 0)

        wait_for(reconciled, timeout_s=30, what="a reconcile that Shopify answers")

        context = f"schedule {schedule}: {'; '.join(events)}; reconciles {summaries}"
        for pid, value in expected.items():
            sku = SKUS[int(pid[1:])]
            # (our b2c_stock, our agreed base), Shopify's available, our log's sum
            seen = (stack.ours(pid), stack.available(sku), _ledger(stack, pid))
            if seen != ((value, value), value, value):
                context += f"\n{pid} expected {value}, seen {seen}" + _history(stack, pid, sku)
            assert seen == ((value, value), value, value), context
