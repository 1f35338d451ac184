"""The dashboard through the real app: the state at a glance and the charts drawn from the
stored per-interval history."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.history import flush_history
from tests.fakes import FakeClock
from tests.integration.web.conftest import builder, make_settings
from tests.integration.web.test_admin_page import PASSWORD, Admin
from tests.integration.web.test_admin_page import _admin as _admin  # the fixture
from tests.unit.services.shop_fakes import FakeShop


def flush(admin: Admin) -> None:
    """Store what the app's recorder counted, as the worker's monitor loop does."""
    c = admin.client.app.state.shopify_sync.container  # type: ignore[attr-defined]
    admin.client.portal.call(flush_history, c.history, c.uow, c.clock, timedelta(days=14))  # type: ignore[union-attr]


def test_the_dashboard_shows_products_by_state(admin: Admin) -> None:
    """Signed in, /admin counts products per state in its tiles."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5, item=11, base=5)
    admin.add("p2", sku="A-2", b2c=6, item=12, base=5)
    admin.add("p3", sku="A-3", b2c=1, enabled=False)
    admin.client.app.state.shopify_sync.container.clock.advance(10)  # type: ignore[attr-defined]  # past the states' cache

    page = admin.client.get("/admin").text

    tiles = dict(re.findall(r'id="tile-(\w+)">\s*<span class="figure">(\d+)</span>', page))
    assert tiles == {
        "in_sync": "1", "pending": "1", "error": "0", "parked": "0", "disabled": "1",
        "unlinked": "0",
    }  # fmt: skip
    assert 'Oldest unresolved error</th><td id="oldest-error">none' in page


def test_charts_draw_the_stored_history_with_numbers_on_hover(admin: Admin) -> None:
    """Counted pushes and webhooks, once flushed, appear in the charts' hover titles and in
    the numbers table; the 7-day window draws them too."""
    admin.sign_in()
    c = admin.client.app.state.shopify_sync.container  # type: ignore[attr-defined]
    c.metrics.pushed(3, 1.5)
    c.metrics.pulled(2, "webhook")
    c.metrics.webhook("inventory_levels/update", "applied", 0.4)
    c.metrics.webhook("inventory_levels/update", "bad_signature")
    flush(admin)

    day = admin.client.get("/admin").text
    week = admin.client.get("/admin?window=7d").text

    assert day.count('<svg class="chart"') == 6
    assert "pushed to Shopify 3, pulled from Shopify 2</title>" in day
    assert "taken 1, refused 1</title>" in day
    assert "average 1.50 s, max 1.50 s</title>" in day
    assert "1 intervals with activity" in day
    assert "pushed to Shopify 3, pulled from Shopify 2</title>" in week


def test_an_outage_pause_and_an_old_error_show_at_a_glance(admin: Admin) -> None:
    """The outage pause and the age of the oldest error are on the page."""
    admin.sign_in()
    c = admin.client.app.state.shopify_sync.container  # type: ignore[attr-defined]
    admin.add("p1", sku="A-1", b2c=5, item=11, base=4)
    admin.sql(
        "UPDATE product_inventory SET sync_error = 'boom', sync_error_since = :t",
        t=c.clock.now() - timedelta(minutes=42),
    )
    c.metrics.outage_pause(True)
    c.clock.advance(10)  # past the states' cache

    page = admin.client.get("/admin").text

    assert "42 min old" in page
    assert 'id="outage"><span class="badge error">on since' in page


def test_an_unknown_window_falls_back_to_24_hours(admin: Admin) -> None:
    """?window=anything shows the last 24 hours."""
    admin.sign_in()

    page = admin.client.get("/admin?window=1y").text

    assert 'aria-current="page">last 24 hours' in page


def test_webhook_subscriptions_show_as_this_process_last_checked_them(admin: Admin) -> None:
    """Unwatched without PUBLIC_URL; a missing topic found by the last check is named."""
    from shopify_sync.entrypoints.worker import WebhookWatch
    from shopify_sync.services.setup import WebhookCheck

    admin.sign_in()
    unwatched = admin.client.get("/admin").text
    state = admin.client.app.state.shopify_sync  # type: ignore[attr-defined]
    address = "https://sync.example.com"
    state.worker.webhooks = WebhookWatch(
        address,
        checked_at=state.container.clock.now(),
        check=WebhookCheck(address, missing=(("orders/create", f"{address}/webhooks/o"),)),
    )

    watched = admin.client.get("/admin").text

    assert 'id="subscriptions">not watched (PUBLIC_URL is not set)' in unwatched
    assert '<span class="badge error">missing orders/create</span>' in watched


def test_with_metrics_off_the_outage_pause_still_shows(tmp_path: Path) -> None:
    """METRICS_ENABLED=false keeps no history, but the dashboard still shows the outage
    pause the Shopify client reports (no charts, a line saying why)."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'off.db'}",
        ADMIN_PASSWORD=PASSWORD,
        METRICS_ENABLED="false",
    )
    clock = FakeClock()
    app = create_app(settings, builder=builder(FakeShop(clock), clock), run_worker=False)
    with TestClient(app) as client:
        admin = Admin(client, FakeShop(clock))
        admin.sign_in()
        client.app.state.shopify_sync.container.metrics.outage_pause(True)  # type: ignore[attr-defined]

        page = client.get("/admin").text

    assert 'id="outage"><span class="badge error">on since' in page
    assert "Metrics are off (METRICS_ENABLED=false)" in page


def test_no_secret_shows_on_the_dashboard_or_the_metrics(tmp_path: Path) -> None:
    """With every secret set, none of them appears on the dashboard (both windows), on
    /metrics or on /health."""
    secrets = {
        "SHOPIFY_ACCESS_TOKEN": "shpat_secret_access_9f3",
        "SHOPIFY_WEBHOOK_SECRET": "secret-webhook-key-9f3",
        "SHOPIFY_WEBHOOK_SECRET_PREVIOUS": "secret-old-webhook-key-9f3",
        "SYNC_API_TOKEN": "secret-api-token-9f3",
        "ADMIN_PASSWORD": "secret-admin-password-9f3",
        "ALERT_WEBHOOK_URL": "https://hooks.example.com/services/T0/B0/secretpath9f3",
        "SMTP_PASSWORD": "secret-smtp-password-9f3",
    }
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'secrets.db'}",
        **secrets,
        ALERT_EMAIL_TO="ops@example.com",
        ALERT_EMAIL_FROM="sync@example.com",
        SMTP_HOST="smtp.example.com",
    )
    clock = FakeClock()
    app = create_app(settings, builder=builder(FakeShop(clock), clock), run_worker=False)
    with TestClient(app) as client:
        admin = Admin(client, FakeShop(clock))
        admin.sign_in(secrets["ADMIN_PASSWORD"])
        client.app.state.shopify_sync.container.metrics.outage_pause(True)  # type: ignore[attr-defined]
        pages = [client.get("/admin").text, client.get("/admin?window=7d").text]
        auth = {"Authorization": f"Bearer {secrets['SYNC_API_TOKEN']}"}
        pages += [client.get("/metrics", headers=auth).text, client.get("/health").text]

    assert "<h1>Dashboard</h1>" in pages[0] and "shopify_sync_database_up" in pages[2]
    shown = [(name, n) for name, value in secrets.items() for n, page in enumerate(pages)
             if value in page or value.rsplit("/", 1)[-1] in page]  # fmt: skip
    assert shown == []
