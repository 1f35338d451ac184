"""/health names Shopify's authentication failing, with what to check and no secret."""

from __future__ import annotations

from shopify_sync.errors import StoreAuthFailed
from tests.integration.web.conftest import Harness


def test_health_shows_shopify_auth_failing(harness: Harness) -> None:
    """A refused token exchange shows under `shopify` as auth failing; the service stays up."""
    harness.store.fail_next = [
        StoreAuthFailed(
            "Shopify refused the client credentials for demo.myshopify.com (invalid_client): "
            "check SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET"
        )
    ]

    response = harness.client.get("/health")
    body = response.json()

    assert response.status_code == 200
    assert body["shopify"].startswith("auth failing: Shopify refused the client credentials")
    assert "SHOPIFY_CLIENT_SECRET" in body["shopify"]
