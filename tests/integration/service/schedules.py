"""Random schedules through the running stack, and what must hold once they are over.

One generator of steps (:func:`play`) and one checker (:func:`check_invariants`) serve the
randomized stack test (one ``serve``, SQLite and PostgreSQL) and the cluster test (three
``serve`` processes behind a balancer). A :class:`Profile` holds what the two draw
differently. The products have random allocations (split or shared, buffers, caps). The
steps: B2B writes straight to the table, relative, racing the service's own loop (to
``b2b_stock``, as the B2B platform's orders do, or to a split product's ``b2c_stock``),
Shopify orders and merchant edits, syncs, policy changes through the command line
(``products allocate --policy/--buffer/--cap``), webhook faults (duplicated, held,
delayed, dropped, reordered) and their late release, Shopify API faults (429/5xx, answers
lost after Shopify applied a write). Then :func:`settle`: the faults stop, held webhooks
arrive, and one reconcile runs; :func:`check_invariants` then checks what Shopify shows
and replays the audit trail (tests/audit.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, POLICIES, Allocation, published
from tests.audit import LOG_QUERY, Tracked, physical, replay
from tests.integration.service.stack import Stack, wait_for

SKUS = ("SKU-000001", "SKU-000002", "SKU-000003")
DEFAULT = DEFAULT_ALLOCATION
"""The settings' allocation (the stacks set none)."""
CLI_ANSWERS = {0: "done", 1: "its push failed", 4: "a write in flight"}
"""What ``products allocate`` may answer while faults are injected."""


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
    allocate: float = 0.03
    """The chance that a step changes a product's allocation (one step in the middle
    always does)."""


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


def draw_allocation(rng: random.Random) -> Allocation:
    """A random allocation: either policy, often a buffer, often a cap."""
    return Allocation(
        rng.choice(POLICIES),
        0 if rng.random() < 0.5 else rng.randint(1, 8),
        None if rng.random() < 0.5 else rng.randint(5, 60),
    )


@dataclass
class StackProduct(Tracked):
    """A product of the stack's schedule: its SKU on the simulator."""

    sku: str = field(kw_only=True)


def link_products(stack: Stack, rng: random.Random) -> list[StackProduct]:
    """Link one product per SKU with random stocks and allocation (a quarter follow the
    settings' default) and wait for their first sync."""
    products = []
    for n, sku in enumerate(SKUS):
        own = None if rng.random() < 0.25 else draw_allocation(rng)
        policy = (own or DEFAULT).policy
        b2b, b2c = rng.randint(20, 120), rng.randint(20, 60)
        products.append(StackProduct(f"p{n}", policy, physical(policy, b2b, b2c), sku=sku))
        stack.link(f"p{n}", sku, b2b=b2b, b2c=b2c, allocation=own)
    assert stack.api("POST", "/sync/all").status_code == 200
    wait_for(
        lambda: all(stack.ours(p.product_id)[1] is not None for p in products), what="first sync"
    )
    return products


def b2b_write(stack: Stack, rng: random.Random, product: StackProduct) -> str:
    """A relative write of the B2B platform: ``b2b_stock``, or a split product's
    ``b2c_stock`` (a shared product's is the service's mirror, not the platform's)."""
    delta = rng.randint(-3, 4)
    column = rng.choice(("b2b_stock", "b2c_stock"))
    only_split = " AND COALESCE(allocation_policy, :default) = 'split'"
    written = stack.sql(
        f"UPDATE product_inventory SET {column} = {column} + :d WHERE product_id = :p"
        + (only_split if column == "b2c_stock" else "")
        + " RETURNING product_id",
        d=delta, p=product.product_id, default=DEFAULT.policy,
    )  # fmt: skip
    if not written:
        return f"b2b {product.product_id} {column}: shared, not written"
    product.local += delta
    return f"b2b {product.product_id} {column} {delta:+d}"


def order(stack: Stack, rng: random.Random, product: StackProduct) -> str:
    """A Shopify order: refused when it shows too few units (a buffer or cap may show 0),
    unless the order may oversell (as with "continue selling when out of stock")."""
    quantity = rng.randint(1, 3)
    oversell = rng.random() < 0.3
    behaviour = "DECREMENT_IGNORING_POLICY" if oversell else "DECREMENT_OBEYING_POLICY"
    response = httpx.post(
        f"{stack.shopify}/_simulator/orders",
        json={
            "line_items": [{"sku": product.sku, "quantity": quantity}],
            "inventory_behaviour": behaviour,
        },
        timeout=10,
    )
    if response.status_code == 422 and "INVENTORY_CLAIM_FAILED" in response.text:
        return f"order {product.product_id} -{quantity}: refused, too few shown"
    assert response.status_code == 201 and "order" in response.json(), response.text
    product.shopify -= quantity
    return f"order {product.product_id} -{quantity}"


def allocate(stack: Stack, rng: random.Random, product: StackProduct) -> str:
    """``products allocate`` with a random policy, buffer and cap (pushed or not)."""
    target = draw_allocation(rng)
    args = ["products", "allocate", product.product_id, "--policy", target.policy]
    args += ["--buffer", str(target.buffer)]
    args += ["--no-cap"] if target.cap is None else ["--cap", str(target.cap)]
    args += [rng.choice(("--push", "--no-push"))]
    done = stack.cli(*args)
    answer = CLI_ANSWERS.get(done.returncode)
    assert answer is not None and "Traceback" not in done.stderr, (args, done)
    return f"allocate {' '.join(args[2:])}: {answer}"


def play(
    stack: Stack, rng: random.Random, products: list[StackProduct], profile: Profile
) -> list[str]:
    """The random steps; each product follows every unit sold or written."""
    events: list[str] = []
    for step in range(profile.steps):
        roll = rng.random()
        product = rng.choice(products)
        pid, sku = product.product_id, product.sku
        if step == profile.steps // 2 or rng.random() < profile.allocate:
            events.append(allocate(stack, rng, product))
        elif roll < 0.25:
            events.append(b2b_write(stack, rng, product))
            if profile.sync_after_b2b and rng.random() < profile.sync_after_b2b:
                stack.api("POST", f"/sync/{pid}")  # the Inventory Service's call
        elif roll < 0.45:
            events.append(order(stack, rng, product))
        elif roll < 0.55:
            delta = rng.randint(-2, 5)
            stack.sim("POST", "/merchant/adjust", json={"sku": sku, "delta": delta})
            product.shopify += delta
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


def check_invariants(stack: Stack, products: list[StackProduct], context: str) -> None:
    """Every product: Shopify shows what its policy publishes of its pool, both sides agree
    on it (agreed base, pool base, no write in flight), its physical stock is the initial
    one plus every change of both sides, and the audit trail accounts for every unit."""
    for product in products:
        pid = product.product_id
        (b2b, b2c, base, pool_base, policy, buffer, cap, push_key), *_ = stack.sql(
            "SELECT b2b_stock, b2c_stock, shopify_base, pool_base, allocation_policy,"
            " allocation_buffer, allocation_cap, push_key FROM product_inventory"
            " WHERE product_id = :p",
            p=pid,
        )
        assert policy is not None, f"{pid} has its own policy since its first sync"
        allocation = Allocation(policy, buffer or 0, cap)
        pool = allocation.pool(b2b, b2c)
        shown = published(pool, allocation)
        audit = replay(stack.sql(LOG_QUERY, p=pid), product.policy)
        seen = (
            (stack.available(product.sku), base, pool_base, push_key),
            b2c if allocation.policy == "shared" else shown,
            (audit.columns["b2b_stock"], audit.columns["b2c_stock"], audit.policy),
            (audit.local, audit.shopify, audit.applied_twice),
            (physical(allocation.policy, b2b, b2c), audit.physical),
        )
        wanted: tuple[object, ...] = (
            (shown, shown, pool, None),
            shown,
            (b2b, b2c, allocation.policy),
            (product.initial + product.local, product.shopify, []),
            (product.expected, product.expected),
        )
        if seen != wanted:
            context += f"\n{pid} ({allocation}) expected {wanted}, seen {seen}; {audit}"
            context += history(stack, pid, product.sku)
        assert seen == wanted, context


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
