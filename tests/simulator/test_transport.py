"""Point 1: authentication, unknown shops and paths, API version handling."""

from __future__ import annotations

import httpx

from tests.simulator.harness import Shop

QUERY = {"query": "{ shop { name } }"}


def test_missing_token_gets_shopify_401_body(shop: Shop) -> None:
    """A request without the access token is refused with Shopify's 401 body."""
    response = httpx.post(f"{shop.base_url}/admin/api/2026-04/graphql.json", json=QUERY)

    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_wrong_token_gets_401(shop: Shop) -> None:
    """A wrong access token is refused like a missing one."""
    response = shop.http.post(
        "/admin/api/2026-04/graphql.json", json=QUERY, headers={"X-Shopify-Access-Token": "nope"}
    )

    assert response.status_code == 401


def test_unknown_shop_host_is_404(shop: Shop) -> None:
    """A request addressed to another myshopify domain is not found."""
    response = shop.http.post(
        "/admin/api/2026-04/graphql.json", json=QUERY, headers={"Host": "other.myshopify.com"}
    )

    assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


def test_unknown_path_is_404(shop: Shop) -> None:
    """A path Shopify does not serve is not found."""
    response = shop.http.get("/admin/api/2026-04/nothing-here.json")

    assert response.status_code == 404


def test_retired_version_is_served_by_oldest_supported(shop: Shop) -> None:
    """A request for a retired version is answered by the oldest supported version."""
    response = shop.http.post("/admin/api/2024-10/graphql.json", json=QUERY)

    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == "2025-10"
    assert response.json()["data"]["shop"]["name"] == "Demo"


def test_malformed_or_future_version_is_404(shop: Shop) -> None:
    """A version that is not a released quarter is not found."""
    statuses = [
        shop.http.post(f"/admin/api/{version}/graphql.json", json=QUERY).status_code
        for version in ("2026-05", "2099-01", "latest")
    ]

    assert statuses == [404, 404, 404]


def test_served_version_is_echoed(shop: Shop) -> None:
    """Every API response names the version that served it."""
    response = shop.http.post("/admin/api/2026-07/graphql.json", json=QUERY)

    assert response.headers["X-Shopify-API-Version"] == "2026-07"
