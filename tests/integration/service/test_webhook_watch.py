"""``serve`` with PUBLIC_URL keeps our webhook subscriptions in place, over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.service.stack import Stack, running_stack, wait_for

PUBLIC_URL = "http://localhost:8765"
"""Where the subscriptions must point (nothing needs to listen: no product changes here)."""
DELETE = """mutation($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } }
}"""


def addresses(stack: Stack) -> list[str]:
    """Where the simulator's subscriptions deliver, sorted."""
    return sorted(s["address"] for s in stack.sim("GET", "/subscriptions")["subscriptions"])


def reconciles(stack: Stack) -> int:
    """How many reconciles the service has recorded."""
    return int(stack.sql("SELECT count(*) FROM sync_runs")[0][0])


def watch(stack: Stack) -> Any:
    """What /health says about the subscriptions."""
    return stack.api("GET", "/health").json()["webhook_subscriptions"]


def test_a_subscription_deleted_on_shopify_is_restored_by_serve(tmp_path: Path) -> None:
    """serve subscribes at start; a subscription Shopify deleted comes back at the next check,
    /health says so, and a reconcile runs at once to catch what was lost meanwhile."""
    wanted = [f"{PUBLIC_URL}/webhooks/inventory-update", f"{PUBLIC_URL}/webhooks/orders-create"]
    url = f"sqlite+aiosqlite:///{tmp_path / 'watch.db'}"
    with running_stack(url, PUBLIC_URL=PUBLIC_URL, WEBHOOK_CHECK_INTERVAL_SECONDS="1") as stack:
        wait_for(lambda: addresses(stack) == wanted, what="the subscriptions made at start")
        wait_for(lambda: watch(stack)["state"] == "ok", what="the first check reported")
        wait_for(lambda: reconciles(stack) >= 1, what="the reconcile at start")
        gone = next(
            s for s in stack.sim("GET", "/subscriptions")["subscriptions"]
            if s["topic"] == "orders/create"
        )  # fmt: skip
        before = reconciles(stack)
        stack.graphql(DELETE, {"id": f"gid://shopify/WebhookSubscription/{gone['id']}"})

        wait_for(lambda: addresses(stack) == wanted, what="the deleted subscription restored")
        wait_for(lambda: reconciles(stack) > before, what="the reconcile after the repair")
        restored = next(
            s for s in stack.sim("GET", "/subscriptions")["subscriptions"]
            if s["topic"] == "orders/create"
        )  # fmt: skip
        state = watch(stack)

    assert restored["id"] != gone["id"]
    assert (state["state"], state["last_repair"]["created"]) == (
        "ok", [{"topic": "orders/create", "address": wanted[1]}],
    )  # fmt: skip


def test_health_says_subscriptions_are_not_watched_without_public_url(tmp_path: Path) -> None:
    """Without PUBLIC_URL nothing is subscribed by serve and /health says why."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'unwatched.db'}"
    with running_stack(url) as stack:
        state = watch(stack)
        subscriptions = stack.sim("GET", "/subscriptions")["subscriptions"]

    assert (state["watched"], subscriptions) == (False, [])
