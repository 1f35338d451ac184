"""Random schedules through the running stack, and what must hold once they are over.

One generator of steps (:func:`play`) and one checker (:func:`check_invariants`) serve the
randomized stack test (one ``serve``, SQLite and PostgreSQL) and the cluster test (three
``serve`` processes behind a balancer). A :class:`Profile` holds what the two draw
differently. The steps: B2B writes straight to the table (racing the service's own loop),
Shopify orders and merchant edits, syncs, webhook faults (duplicated, held, delayed,
dropped, reordered) and their late release, Shopify API faults (429/5xx, answers lost
after Shopify applied a write). Then :func:`settle`: the faults stop, held webhooks
arrive, and one reconcile runs.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Literal

from tests.integration.service.stack import Stack, wait_for

SKUS = ("SKU-000001", "SKU-000002", "SKU-000003")


@dataclass(frozen=True)
class Profile:
    """How a schedule draws its steps (what differs between one server and a cluster)."""

    steps: int
    webhook_faults: tuple[str, ...]
    api_modes: tuple[str, ...]
    api_statuses: tuple[int, ...]
    api_fault_count: int
    """At most this many calls fail per API fault."""
    sync: Literal["product", "all"]
    """A sync step syncs the drawn product, or all (racing the scheduled reconcile)."""
    sync_after_b2b: float
    """The chance that a B2B write is followed by the Inventory Service's sync call."""
    pauses: tuple[float, ...]
    """The pause after each step, in seconds, drawn from these."""
    settle_timeout_s: float


ONE_SERVER = Profile(
    steps=25,
    webhook_faults=("duplicate", "hold", "delay", "drop", "reorder"),
    api_modes=("status", "status", "lose_response"),
    api_statuses=(429, 500, 502, 503),
    api_fault_count=2,
    sync="product",
    sync_after_b2b=0.0,
    pauses=(0.0, 0.05, 0.3),
    settle_timeout_s=30,
)


@dataclass
class Tracked:
    """One product of a schedule and the quantity both sides must end with."""

    product_id: str
    sku: str
    expected: int


def link_products(stack: Stack) -> list[Tracked]:
    """Link one product per SKU (b2c_stock 50, 51, ...) and wait for their first sync."""
    products = [Tracked(f"p{n}", sku, 50 + n) for n, sku in enumerate(SKUS)]
    for product in products:
        stack.link(product.product_id, product.sku, b2c=product.expected)
    assert stack.api("POST", "/sync/all").status_code == 200
    wait_for(
        lambda: all(stack.ours(p.product_id)[1] is not None for p in products), what="first sync"
    )
    return products


def play(stack: Stack, rng: random.Random, products: list[Tracked], profile: Profile) -> list[str]:
    """The random steps; each product's ``expected`` follows every unit sold or moved."""
    events: list[str] = []
    for _ in range(profile.steps):
        roll = rng.random()
        product = rng.choice(products)
        pid, sku = product.product_id, product.sku
        if roll < 0.25:
            delta = rng.randint(-3, 4)
            product.expected += delta
            events.append(f"b2b {pid} {delta:+d}")
            stack.sql(
                "UPDATE product_inventory SET b2c_stock = b2c_stock + :d WHERE product_id = :p",
                d=delta, p=pid,
            )  # fmt: skip
            if profile.sync_after_b2b and rng.random() < profile.sync_after_b2b:
                stack.api("POST", f"/sync/{pid}")  # the Inventory Service's call
        elif roll < 0.45:
            quantity = rng.randint(1, 3)
            order = stack.sim(
                "POST", "/orders", json={"line_items": [{"sku": sku, "quantity": quantity}]}
            )
            assert "order" in order
            product.expected -= quantity
            events.append(f"order {pid} -{quantity}")
        elif roll < 0.55:
            delta = rng.randint(-2, 5)
            stack.sim("POST", "/merchant/adjust", json={"sku": sku, "delta": delta})
            product.expected += delta
            events.append(f"edit {pid} {delta:+d}")
        elif roll < 0.65:
            if profile.sync == "all":
                events.append("sync all")
                stack.api("POST", "/sync/all")
            else:
                events.append(f"sync {pid}")
                stack.api("POST", f"/sync/{pid}")
        elif roll < 0.8:
            action = rng.choice(profile.webhook_faults)
            events.append(f"webhook fault {action}")
            rule = {"action": action, "count": rng.randint(1, 3), "delay_s": 0.5}
            stack.sim("POST", "/faults/webhooks", json=rule)
        elif roll < 0.9:
            mode = rng.choice(profile.api_modes)
            status = rng.choice(profile.api_statuses)
            count = rng.randint(1, profile.api_fault_count)
            events.append(f"api fault {mode} {status} x{count}")
            stack.sim("POST", "/faults/api", json={"mode": mode, "status": status, "count": count})
        else:
            events.append("release held webhooks")
            stack.sim(
                "POST", "/webhooks/release", json={"order": rng.choice(("reverse", "shuffle"))}
            )
        time.sleep(rng.choice(profile.pauses))
    return events


def settle(stack: Stack, timeout_s: float) -> list[dict[str, Any]]:
    """Faults stop; held webhooks arrive late; deliveries and writes in flight settle; one
    reconcile runs that Shopify answers. Returns the reconciles' summaries."""
    stack.sim("DELETE", "/faults")
    stack.sim("POST", "/webhooks/release", json={"order": "reverse"})
    wait_for(
        lambda: not [w for w in stack.sim("GET", "/webhooks")["webhooks"]
                     if w["status"] in ("pending", "retrying", "held")],
        timeout_s=timeout_s, what="webhook deliveries to settle",
    )  # fmt: skip
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM outbound_writes")[0][0] == 0,
        timeout_s=timeout_s, what="writes in flight to be answered",
    )  # fmt: skip
    # A fault just before they stopped may have paused Shopify calls (the outage pause,
    # 0.3 s here, twice as long after each failed probe): a reconcile during the pause
    # fails every product without sending anything, so run it until Shopify answers.
    summaries: list[dict[str, Any]] = []

    def reconciled() -> bool:
        summaries.append(stack.api("POST", "/sync/all").json())
        return bool(summaries[-1].get("failed") == 0)

    wait_for(reconciled, timeout_s=timeout_s, what="a reconcile that Shopify answers")
    return summaries


def check_invariants(stack: Stack, products: list[Tracked], context: str) -> None:
    """Both sides agree on every product's expected quantity (our b2c_stock, the agreed
    base, Shopify's available), and our log's b2c_stock deltas sum to it."""
    for product in products:
        value = product.expected
        seen = (
            stack.ours(product.product_id),
            stack.available(product.sku),
            ledger(stack, product.product_id),
        )
        if seen != ((value, value), value, value):
            context += f"\n{product.product_id} expected {value}, seen {seen}"
            context += history(stack, product.product_id, product.sku)
        assert seen == ((value, value), value, value), context


def ledger(stack: Stack, product_id: str) -> int:
    """The sum of every logged change to a product's b2c_stock."""
    rows = stack.sql(
        "SELECT COALESCE(SUM(delta), 0) FROM inventory_sync_log WHERE product_id = :p"
        " AND field = 'b2c_stock' AND direction IN ('inbound', 'local')",
        p=product_id,
    )
    return int(rows[0][0])


def history(stack: Stack, product_id: str, sku: str) -> str:
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
