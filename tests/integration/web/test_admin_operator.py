"""The admin page for an operator's first hour (issue 12): the last reconcile agrees with
/health, errors are retried in bulk, and one page shows one time zone."""

from __future__ import annotations

from tests.integration.web.test_admin_page import PASSWORD, Admin, _admin  # noqa: F401

__all__ = ["PASSWORD"]


def test_reconcile_page_and_health_agree_on_the_last_reconcile(admin: Admin) -> None:
    """A scheduled reconcile newer than one started by hand is the last one on both."""
    admin.sign_in()
    admin.sql(
        "INSERT INTO sync_runs (kind, started_at, finished_at, checked, changed, failed)"
        " VALUES ('reconcile:api', '2026-05-01 08:00:00', '2026-05-01 08:00:01', 11, 1, 0),"
        " ('reconcile', '2026-05-01 09:00:00', '2026-05-01 09:00:02', 77, 7, 0)"
    )

    page = admin.client.get("/admin/reconcile").text
    health = admin.client.get("/health").json()

    assert "77 checked, 7 changed, 0 failed" in page and "scheduled" in page
    assert "11 checked" not in page
    assert health["last_reconcile"]["checked"] == 77


def test_a_wrong_webhook_secret_shows_on_health_and_the_admin_page(admin: Admin) -> None:
    """Deliveries refused for their signature, none accepted: /health is degraded and the
    Errors and Products pages say so, naming SHOPIFY_WEBHOOK_SECRET; unsigned ones do not."""
    admin.sign_in()
    body = b'{"id": 1, "line_items": []}'
    for _ in range(5):
        admin.client.post("/webhooks/orders-create", content=body)
    calm = admin.client.get("/health").json()
    statuses = {
        admin.client.post(
            "/webhooks/orders-create", content=body,
            headers={"X-Shopify-Hmac-Sha256": "c2lnbmVkIHdpdGggYW5vdGhlciBzZWNyZXQ="},
        ).status_code
        for _ in range(3)
    }  # fmt: skip

    health = admin.client.get("/health").json()
    errors_page = admin.client.get("/admin/errors").text
    products_page = admin.client.get("/admin/products").text

    assert (calm["status"], calm["webhooks"], statuses) == ("ok", "ok", {401})
    assert health["status"] == "degraded"
    assert health["webhooks"].startswith("error: 3 webhook deliveries in the last hour")
    assert "SHOPIFY_WEBHOOK_SECRET" in health["webhooks"]
    for page in (errors_page, products_page):
        assert 'role="alert"' in page and "SHOPIFY_WEBHOOK_SECRET" in page


def errored(admin: Admin, *pids: str, parked: bool = False) -> None:
    """Products in error: waiting for their next attempt, or parked."""
    for pid in pids:
        admin.add(pid, sku=f"S-{pid}", b2c=1, variant=1, item=int(pid[1:]) + 100, base=1)
        admin.sql(
            "UPDATE product_inventory SET sync_error = 'could not read Shopify', sync_attempts = 2,"
            " next_attempt_at = :n, parked_at = :p WHERE product_id = :pid",
            n=None if parked else "2026-05-01 10:05:00",
            p="2026-05-01 10:00:00" if parked else None,
            pid=pid,
        )


def in_error(admin: Admin) -> list[object]:
    """The ids of the products still in error."""
    rows = admin.sql(
        "SELECT product_id FROM product_inventory WHERE sync_error IS NOT NULL ORDER BY product_id"
    )
    return [r[0] for r in rows]


def test_errors_page_retries_the_ticked_products_or_every_one_in_error(admin: Admin) -> None:
    """Ticked products are retried together; one click retries every product in error,
    parked or waiting for its next attempt."""
    admin.sign_in()
    errored(admin, "p1", "p2", "p3")
    errored(admin, "p4", parked=True)
    page = admin.client.get("/admin/errors").text

    ticked = admin.client.post(
        "/admin/errors/retry",
        data={"csrf": admin.csrf(), "scope": "selected", "product_id": ["p1", "p3"]},
    )
    after_ticked = in_error(admin)
    nothing = admin.client.post(
        "/admin/errors/retry", data={"csrf": admin.csrf(), "scope": "selected"}
    )
    ghost = admin.client.post(
        "/admin/errors/retry",
        data={"csrf": admin.csrf(), "scope": "selected", "product_id": ["p2", "ghost"]},
    )
    everything = admin.client.post(
        "/admin/errors/retry", data={"csrf": admin.csrf(), "scope": "errors"}
    )

    assert page.count('name="product_id"') == 4 and "Retry all with errors" in page
    assert (ticked.status_code, after_ticked) == (200, ["p2", "p4"])
    assert "Tick the products to retry first." in nothing.text
    assert "Nothing retried: no product with id &#39;ghost&#39;" in ghost.text
    assert "Retrying 2 product(s) with errors." in everything.text
    assert in_error(admin) == []


def test_error_texts_are_shown_in_the_picked_time_zone(admin: Admin) -> None:
    """UTC times inside a stored error text show in the operator's zone (Paris here) on the
    Errors and product pages, like every other time there: one page, one zone."""
    admin.sign_in()
    errored(admin, "p1")
    admin.sql(
        "UPDATE product_inventory SET sync_error = :e WHERE product_id = 'p1'",
        e="2026-05-01 10:00:00 UTC: could not read Shopify's levels: ReadLevels: not sent: "
        "Shopify has been unavailable since 2026-05-01 09:59:58 UTC (http_503); calls resume "
        "after 2026-05-01 10:00:13 UTC (attempt 1 of 3; next try at 2026-05-01 10:00:05 UTC)",
    )

    pages = [admin.client.get(path).text for path in ("/admin/errors", "/admin/products/p1")]

    for page in pages:
        assert "2026-05-01 12:00:00 CEST: could not read" in page
        assert "since 2026-05-01 11:59:58 CEST" in page
        assert "next try at 2026-05-01 12:00:05 CEST" in page
        assert "10:00:00 UTC" not in page and "10:00:05 UTC" not in page
