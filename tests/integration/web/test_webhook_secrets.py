"""Webhook signatures of a Dev Dashboard app: its client secret by default, and the previous
secret during a rotation (accepted and logged as such)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from shopify_sync.config import load_settings
from shopify_sync.entrypoints.web.app import create_app
from tests.fakes import FakeClock, FakeStoreClient
from tests.integration.web.conftest import TOKEN, Harness, builder
from tests.integration.web.test_app import add_product, level, webhook

CLIENT_SECRET = "shpss_client_secret_0123"
PREVIOUS = "shpss_previous_secret_0123"


@pytest.fixture(name="app_harness")
def _app_harness(tmp_path: Path) -> Iterator[Harness]:
    settings = load_settings(
        {
            "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
            "SHOPIFY_CLIENT_ID": "client-id-0123",
            "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET,
            "SHOPIFY_WEBHOOK_SECRET_PREVIOUS": PREVIOUS,
            "SHOPIFY_LOCATION_ID": "1",
            "SYNC_API_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
        },
        env_file=None,
    )
    clock = FakeClock()
    store = FakeStoreClient(clock)
    app = create_app(settings, builder=builder(store, clock), run_worker=False)
    with TestClient(app) as client:
        yield Harness(client, store, clock)


def _deliver(h: Harness, item: int, secret: str, event: str) -> int:
    response = webhook(
        h,
        "/webhooks/inventory-update",
        level(item, 7),
        topic="inventory_levels/update",
        event=event,
        secret=secret,
    )
    return int(response.status_code)  # type: ignore[attr-defined]


def test_client_secret_verifies_webhooks_by_default(app_harness: Harness) -> None:
    """Without SHOPIFY_WEBHOOK_SECRET a delivery signed with the client secret is accepted."""
    _, item = add_product(app_harness, ours=10, base=10, shopify=10)

    with capture_logs() as logs:
        status = _deliver(app_harness, item, CLIENT_SECRET, "e-current")

    assert status == 200
    assert "webhook_verified_with_previous_secret" not in [e["event"] for e in logs]


def test_previous_secret_is_accepted_and_logged(app_harness: Harness) -> None:
    """A delivery signed with the previous secret is accepted and logged as such, secret unshown."""
    _, item = add_product(app_harness, ours=10, base=10, shopify=10)

    with capture_logs() as logs:
        status = _deliver(app_harness, item, PREVIOUS, "e-previous")

    assert status == 200
    assert "webhook_verified_with_previous_secret" in [e["event"] for e in logs]
    assert PREVIOUS not in repr(logs)


def test_another_secret_is_refused(app_harness: Harness) -> None:
    """A delivery signed with neither secret is refused with 401."""
    _, item = add_product(app_harness, ours=10, base=10, shopify=10)

    assert _deliver(app_harness, item, "shpss_someone_else", "e-other") == 401
