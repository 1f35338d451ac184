"""The Inventory Service's client for shopify-sync, at the HTTP boundary."""

from __future__ import annotations

import httpx
import pytest

from shopify_sync.sync_client import SyncClient, SyncClientError


def client_for(handler: object, attempts: int = 3) -> SyncClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return SyncClient(
        "http://sync.test", "tok", attempts=attempts, http=httpx.Client(transport=transport)
    )


def test_sync_product_sends_the_token_and_parses_the_answer() -> None:
    """POST /sync/{id} carries the bearer token; the answer becomes a SyncResult."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"product_id": "a/b", "action": "pushed", "b2c_stock": 4,
                                         "shopify_available": 4, "error": None})  # fmt: skip

    result = client_for(handler).sync_product("a/b")

    assert (result.action, result.b2c_stock) == ("pushed", 4)
    assert seen[0].url.raw_path == b"/sync/a%2Fb"
    assert seen[0].headers["authorization"] == "Bearer tok"


def test_shopify_failures_are_retried_then_raised() -> None:
    """A 502 is retried a bounded number of times, then raised with the service's detail."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502, json={"detail": "Shopify unavailable"})

    with pytest.raises(SyncClientError, match="Shopify unavailable") as caught:
        client_for(handler, attempts=2).sync_product("p")

    assert (caught.value.status, len(calls)) == (502, 2)


def test_client_errors_are_not_retried() -> None:
    """A 404 (unknown product) is raised at once."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(404, json={"error": "UnknownProduct", "detail": "no product"})

    with pytest.raises(SyncClientError) as caught:
        client_for(handler).sync_product("p")

    assert (caught.value.status, len(calls)) == (404, 1)


def test_unreachable_service_is_an_error() -> None:
    """A connection failure on every attempt is raised as SyncClientError without a status."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SyncClientError, match="unreachable") as caught:
        client_for(handler, attempts=1).sync_all(dry_run=True)

    assert caught.value.status is None


def test_sync_all_and_health() -> None:
    """sync_all returns the summary; health returns the report."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(200, json={"checked": 3, "dry_run": "dry_run" in str(request.url)})

    with client_for(handler) as client:
        assert client.sync_all(dry_run=True) == {"checked": 3, "dry_run": True}
        assert client.health() == {"status": "ok"}
