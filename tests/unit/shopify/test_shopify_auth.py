"""The client credentials token provider on scripted answers: an unreachable token endpoint is
an outage, odd answers are refusals that say what to check, and the request it sends."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import httpx
import pytest

from shopify_sync.adapters.shopify import ShopifyClient
from shopify_sync.adapters.shopify.auth import ClientCredentials, StaticToken
from shopify_sync.errors import StoreAuthFailed, StoreUnavailable
from tests.fakes import FakeMetrics
from tests.unit.shopify.shopify_fakes import ADMIN_URL, LOCATION, FakeClock, gql

pytestmark = pytest.mark.anyio

SECRET = "shpss_unit_secret_0123"
LOCATIONS = {"locations": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}


class TokenShop:
    """Scripted answers for the token endpoint; the Admin API answers every call with data."""

    def __init__(self, *token_steps: httpx.Response | type[httpx.RequestError]) -> None:
        self.token_steps = list(token_steps)
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/oauth/access_token":
            self.token_requests.append(request)
            step = self.token_steps.pop(0) if len(self.token_steps) > 1 else self.token_steps[0]
            if isinstance(step, httpx.Response):
                return step
            raise step("simulated", request=request)
        self.api_requests.append(request)
        return gql(LOCATIONS)


def _client(
    shop: TokenShop, clock: FakeClock, *, max_attempts: int = 6, outage_pause_s: float = 0
) -> tuple[ShopifyClient, ClientCredentials, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(shop))
    tokens = ClientCredentials(
        ADMIN_URL, "test-shop.myshopify.com", "client-1", SECRET, http=http, clock=clock
    )
    client = ShopifyClient(
        ADMIN_URL, "2026-04", tokens, LOCATION, http=http, clock=clock, rng=random.Random(3),
        max_attempts=max_attempts, outage_pause_s=outage_pause_s,
    )  # fmt: skip
    return client, tokens, http


def _granted(token: str = "shpat_granted", expires_in: int | None = 86399) -> httpx.Response:
    body: dict[str, object] = {"access_token": token, "scope": "read_inventory"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, json=body)


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


async def test_exchange_sends_the_json_grant_and_uses_the_token(clock: FakeClock) -> None:
    """The exchange posts client_id, client_secret and grant_type as JSON; calls carry the token."""
    shop = TokenShop(_granted())
    client, tokens, http = _client(shop, clock)
    async with http:
        await client.locations()

    assert json.loads(shop.token_requests[0].content) == {
        "client_id": "client-1",
        "client_secret": SECRET,
        "grant_type": "client_credentials",
    }
    assert shop.api_requests[0].headers["X-Shopify-Access-Token"] == "shpat_granted"
    assert tokens.scopes == ("read_inventory",)


async def test_unreachable_token_endpoint_is_an_outage(clock: FakeClock) -> None:
    """A token endpoint that cannot be reached fails the call as unavailable after its retries
    and opens the outage pause: the next call is not sent at all."""
    shop = TokenShop(httpx.ConnectError)
    client, _, http = _client(shop, clock, max_attempts=3, outage_pause_s=15)
    async with http:
        with pytest.raises(StoreUnavailable):
            await client.locations()
        with pytest.raises(StoreUnavailable, match="calls to Shopify paused since"):
            await client.locations()

    assert len(shop.token_requests) == 3
    assert shop.api_requests == []


async def test_token_endpoint_5xx_is_retried_then_works(clock: FakeClock) -> None:
    """A 503 from the token endpoint is retried like any outage; the next answer is used."""
    shop = TokenShop(httpx.Response(503), _granted())
    client, _, http = _client(shop, clock, max_attempts=3)
    async with http:
        found = await client.locations()

    assert found == []
    assert len(shop.token_requests) == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, json={"scope": "x"}), "without an access token"),
        (httpx.Response(200, text="<html>"), "without an access token"),
        (httpx.Response(400, json={"error": "invalid_request"}), "invalid_request"),
        (httpx.Response(404, text="Not Found"), "HTTP 404"),
    ],
)
async def test_odd_answers_are_refusals_that_say_what_to_check(
    clock: FakeClock, answer: httpx.Response, expected: str
) -> None:
    """An answer without a token, another OAuth error or a 404 is a refusal naming what to check."""
    client, _, http = _client(TokenShop(answer), clock)
    async with http:
        with pytest.raises(StoreAuthFailed, match=expected) as caught:
            await client.locations()

    assert "check" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_a_token_without_expiry_is_kept_until_refused(clock: FakeClock) -> None:
    """Without expires_in the token is reused however long ago it was obtained."""
    shop = TokenShop(_granted(expires_in=None))
    client, tokens, http = _client(shop, clock)
    async with http:
        await client.locations()
        clock.current = clock.current.replace(year=2030)
        await client.locations()

    assert tokens.exchanges == 1
    assert tokens.expires_at is None


async def test_a_second_401_after_renewal_is_a_refusal(clock: FakeClock) -> None:
    """When the fresh token is refused too, the call fails once with what to check."""

    def always_401(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/oauth/access_token":
            return _granted(f"shpat_{len(clock.sleeps)}")
        return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(always_401))
    tokens = ClientCredentials(ADMIN_URL, "shop", "client-1", SECRET, http=http, clock=clock)
    client = ShopifyClient(ADMIN_URL, "2026-04", tokens, LOCATION, http=http, clock=clock)
    async with http:
        with pytest.raises(StoreAuthFailed, match="installed on this store"):
            await client.locations()

    assert tokens.exchanges == 2


async def test_reprs_hide_secrets() -> None:
    """Neither provider shows its secret in a repr."""
    async with httpx.AsyncClient() as http:
        tokens = ClientCredentials(ADMIN_URL, "s", "id", SECRET, http=http, clock=FakeClock())

    assert SECRET not in repr(tokens)
    assert "shpat_static" not in repr(StaticToken("shpat_static", "s"))


async def test_each_exchange_is_counted_with_its_outcome(clock: FakeClock) -> None:
    """A refused exchange counts as failed and a granted one as ok, and calls count auth_failed."""
    shop = TokenShop(httpx.Response(400, json={"error": "invalid_client"}), _granted())
    metrics = FakeMetrics()
    async with httpx.AsyncClient(transport=httpx.MockTransport(shop)) as http:
        tokens = ClientCredentials(
            ADMIN_URL, "shop", "client-1", SECRET, http=http, clock=clock, metrics=metrics
        )
        client = ShopifyClient(
            ADMIN_URL, "2026-04", tokens, LOCATION, http=http, clock=clock, metrics=metrics
        )
        with pytest.raises(StoreAuthFailed):
            await client.locations()
        clock.current += timedelta(seconds=61)
        await client.locations()

    assert metrics.named("token_renewed") == [("failed",), ("ok",)]
    assert [args[1] for args in metrics.named("shopify_call")] == ["auth_failed", "ok"]


async def test_a_401_whose_renewal_cannot_reach_shopify_is_retried(clock: FakeClock) -> None:
    """A 401, then the token endpoint unreachable once: the call waits, renews and succeeds."""
    token_endpoint = iter(["grant", "down", "grant"])
    grants = iter(["shpat_first", "shpat_second"])

    def shop(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/oauth/access_token":
            if next(token_endpoint) == "down":
                raise httpx.ConnectError("simulated", request=request)
            return _granted(next(grants))
        if request.headers["X-Shopify-Access-Token"] == "shpat_first":
            return httpx.Response(401, json={"errors": "[API] Invalid API key or access token"})
        return gql(LOCATIONS)

    async with httpx.AsyncClient(transport=httpx.MockTransport(shop)) as http:
        tokens = ClientCredentials(ADMIN_URL, "shop", "client-1", SECRET, http=http, clock=clock)
        client = ShopifyClient(ADMIN_URL, "2026-04", tokens, LOCATION, http=http, clock=clock)
        found = await client.locations()

    assert found == []
    assert tokens.exchanges == 3
    assert len(clock.sleeps) == 1
