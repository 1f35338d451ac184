"""The admin page's Setup panel: the checks of `shopify-sync doctor`, linked from the
navigation, each passing or failing with what to do, and no secret shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopify_sync.domain.model import WebhookSubscription
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.errors import StoreAuthFailed
from tests.fakes import FakeClock
from tests.integration.web.conftest import builder, make_settings
from tests.integration.web.test_admin_page import PASSWORD, Admin
from tests.unit.services.shop_fakes import FakeShop

PUBLIC = "https://sync.example.com"
CLIENT_SECRET = "shpss_setup_page_secret"


@pytest.fixture(name="admin")
def _admin(tmp_path: Path) -> Iterator[Admin]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'setup.db'}",
        ADMIN_PASSWORD=PASSWORD,
        PUBLIC_URL=PUBLIC,
        SHOPIFY_ACCESS_TOKEN="",
        SHOPIFY_CLIENT_ID="setup-client",
        SHOPIFY_CLIENT_SECRET=CLIENT_SECRET,
    )
    clock = FakeClock()
    shop = FakeShop(clock)
    for n, (topic, path) in enumerate(
        [("inventory_levels/update", "inventory-update"), ("orders/create", "orders-create")]
    ):
        shop.subscriptions[str(n)] = WebhookSubscription(str(n), topic, f"{PUBLIC}/webhooks/{path}")
    with TestClient(create_app(settings, builder=builder(shop, clock), run_worker=False)) as client:
        yield Admin(client, shop)


def _results(html: str) -> dict[str, str]:
    rows = re.findall(r'<tr id="check-(\w+)">.*?<span class="badge (\w+)">', html, re.S)
    return dict(rows)


def test_setup_page_is_linked_and_shows_every_check(admin: Admin) -> None:
    """The navigation links Setup; it lists the nine checks, here all but the reconcile ok."""
    admin.sign_in()
    nav = admin.client.get("/admin/products").text
    page = admin.client.get("/admin/setup")

    assert 'href="/admin/setup"' in nav
    assert page.status_code == 200
    assert _results(page.text) == {
        "credentials": "ok", "api_version": "ok", "scopes": "ok", "location": "ok",
        "webhooks": "ok", "database": "ok", "inventory_items": "ok", "product_errors": "ok",
        "last_reconcile": "error",
    }  # fmt: skip
    assert "client credentials of app setup-client" in page.text
    assert CLIENT_SECRET not in page.text


def test_refused_credentials_show_what_to_check(admin: Admin) -> None:
    """A refused exchange fails the credentials check with its message, secret unshown."""
    admin.sign_in()
    admin.shop.fail_next = [
        StoreAuthFailed("Shopify refused the client credentials (invalid_client): check them")
    ]

    page = admin.client.get("/admin/setup").text

    assert _results(page)["credentials"] == "error"
    assert "invalid_client" in page
    assert CLIENT_SECRET not in page


def test_setup_needs_a_signed_in_operator(admin: Admin) -> None:
    """Signed out, the Setup page sends the visitor to sign in first."""
    response = admin.client.get("/admin/setup", follow_redirects=False)

    assert response.status_code == 303
