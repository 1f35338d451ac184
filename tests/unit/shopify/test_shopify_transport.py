"""Pacing, retries and error translation of the Shopify client, with faults at the HTTP boundary."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from shopify_sync.domain.model import LevelRead, QuantityWrite, SetQuantities
from shopify_sync.errors import (
    OutcomeUnknown,
    RateLimited,
    StoreAuthFailed,
    StoreError,
    StoreRejected,
    StoreUnavailable,
)
from shopify_sync.types import InventoryItemId
from tests.fakes import FakeMetrics
from tests.unit.shopify.shopify_fakes import (
    ADMIN_URL,
    TOKEN,
    FakeClock,
    ScriptedShop,
    fail,
    gql,
    item_node,
    make_client,
    throttled,
)

pytestmark = pytest.mark.anyio

ITEM = InventoryItemId(30322695)
LEVEL = gql({"nodes": [item_node("gid://shopify/InventoryItem/30322695", 7)]})
WRITE = SetQuantities(
    idempotency_key="key-1",
    reference_document_uri="gid://b2b-sync/Product/p1",
    entries=(QuantityWrite(ITEM, quantity=14, expected=9),),
)
APPLIED = gql(
    {
        "inventorySetQuantities": {
            "inventoryAdjustmentGroup": {
                "id": "gid://shopify/G/1",
                "createdAt": "2026-05-01T10:00:02Z",
            },
            "userErrors": [],
        }
    }
)


async def _read(shop: ScriptedShop, clock: FakeClock, *, max_attempts: int = 6) -> LevelRead:
    client, http = make_client(shop, clock, max_attempts=max_attempts)
    async with http:
        return (await client.read_levels([ITEM]))[ITEM]


async def test_sends_token_to_the_versioned_graphql_endpoint(clock: FakeClock) -> None:
    """Requests go to /admin/api/{version}/graphql.json with the access token header."""
    shop = ScriptedShop([LEVEL])

    await _read(shop, clock)

    request = shop.requests[0]
    assert str(request.url) == f"{ADMIN_URL}/admin/api/2026-04/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"


async def test_throttled_waits_for_the_missing_points_then_succeeds(clock: FakeClock) -> None:
    """A THROTTLED answer waits (requested - available) / restore rate, then resends."""
    shop = ScriptedShop([throttled(requested=752, available=666, rate=100), LEVEL])

    with capture_logs() as logs:
        level = await _read(shop, clock)

    assert level.available == 7
    assert clock.sleeps == [pytest.approx(0.86)]
    assert len(shop.requests) == 2
    assert [e for e in logs if e["event"] == "shopify_request_retried"] == [
        {
            "event": "shopify_request_retried",
            "log_level": "warning",
            "operation": "ReadLevels",
            "reason": "throttled",
            "attempt": 2,
            "wait_s": 0.86,
        }
    ]


async def test_throttled_until_the_bound_raises_rate_limited(clock: FakeClock) -> None:
    """Still THROTTLED after max_attempts sends raises RateLimited carrying the wait."""
    shop = ScriptedShop([throttled(requested=300, available=100, rate=50)])

    with pytest.raises(RateLimited) as caught:
        await _read(shop, clock, max_attempts=3)

    assert caught.value.retry_after_s == pytest.approx(4.0)
    assert len(shop.requests) == 3


async def test_http_429_honours_retry_after_seconds(clock: FakeClock) -> None:
    """HTTP 429 waits the Retry-After seconds before resending."""
    shop = ScriptedShop([httpx.Response(429, headers={"Retry-After": "2.5"}), LEVEL])

    await _read(shop, clock)

    assert clock.sleeps == [2.5]


async def test_http_429_with_a_date_waits_until_that_time(clock: FakeClock) -> None:
    """A Retry-After given as an HTTP date waits until that moment on the clock."""
    header = "Fri, 01 May 2026 10:00:04 GMT"
    shop = ScriptedShop([httpx.Response(429, headers={"Retry-After": header}), LEVEL])

    await _read(shop, clock)

    assert clock.sleeps == [4.0]


async def test_http_429_until_the_bound_raises_rate_limited(clock: FakeClock) -> None:
    """HTTP 429 on every attempt raises RateLimited with the last Retry-After."""
    shop = ScriptedShop([httpx.Response(429, headers={"Retry-After": "3"})])

    with pytest.raises(RateLimited) as caught:
        await _read(shop, clock, max_attempts=2)

    assert caught.value.retry_after_s == 3.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_a_read_is_retried_with_growing_jittered_backoff(
    clock: FakeClock, status: int
) -> None:
    """A 5xx on a read is retried after backoff that doubles (with jitter) per attempt."""
    shop = ScriptedShop([httpx.Response(status), httpx.Response(status), LEVEL])

    level = await _read(shop, clock)

    assert level.available == 7
    first, second = clock.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


async def test_5xx_until_the_bound_raises_store_unavailable_on_a_read(clock: FakeClock) -> None:
    """A read that sees only 5xx raises StoreUnavailable (not OutcomeUnknown) after the bound."""
    shop = ScriptedShop([httpx.Response(503)])

    with pytest.raises(StoreUnavailable) as caught:
        await _read(shop, clock, max_attempts=4)

    assert not isinstance(caught.value, OutcomeUnknown)
    assert len(shop.requests) == 4
    assert len(clock.sleeps) == 3


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.ConnectError,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
async def test_transport_errors_on_a_read_are_retried(
    clock: FakeClock, error: type[httpx.RequestError]
) -> None:
    """Timeouts, connection and protocol errors on a read are retried, then succeed."""
    shop = ScriptedShop([fail(error), LEVEL])

    level = await _read(shop, clock)

    assert level.available == 7
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ReadTimeout, StoreUnavailable),
        (httpx.ConnectError, StoreUnavailable),
        (httpx.RemoteProtocolError, StoreUnavailable),
        (httpx.UnsupportedProtocol, StoreRejected),
    ],
)
async def test_no_httpx_exception_escapes(
    clock: FakeClock, error: type[httpx.RequestError], expected: type[StoreError]
) -> None:
    """Every httpx failure leaves the client as the project's StoreError subclass."""
    shop = ScriptedShop([fail(error)])

    with pytest.raises(StoreError) as caught:
        await _read(shop, clock, max_attempts=2)

    assert type(caught.value) is expected
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


@pytest.mark.parametrize("status", [402, 403, 404, 423])
async def test_client_errors_are_rejected_at_once_with_an_excerpt(
    clock: FakeClock, status: int
) -> None:
    """A 4xx raises StoreRejected with the status and a body excerpt, without retrying."""
    body = {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    shop = ScriptedShop([httpx.Response(status, json=body)])

    with pytest.raises(StoreRejected) as caught:
        await _read(shop, clock)

    assert caught.value.status == status
    assert "Invalid API key" in caught.value.body_excerpt
    assert len(shop.requests) == 1


async def test_a_refused_static_token_names_the_variable(clock: FakeClock) -> None:
    """A 401 to the static token raises StoreAuthFailed naming SHOPIFY_ACCESS_TOKEN, sent once."""
    body = {"errors": "[API] Invalid API key or access token"}
    shop = ScriptedShop([httpx.Response(401, json=body)])

    with pytest.raises(StoreAuthFailed) as caught:
        await _read(shop, clock)

    assert "SHOPIFY_ACCESS_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert len(shop.requests) == 1


async def test_the_token_never_appears_in_errors(clock: FakeClock) -> None:
    """A refused request's message and excerpt blank out the access token, even if echoed."""
    shop = ScriptedShop([httpx.Response(403, text=f"bad token {TOKEN}")])

    with pytest.raises(StoreRejected) as caught:
        await _read(shop, clock)

    assert TOKEN not in caught.value.body_excerpt
    assert TOKEN not in str(caught.value)


async def test_graphql_errors_are_rejected(clock: FakeClock) -> None:
    """A 200 answer with a validation or cost error raises StoreRejected without retrying."""
    answer = {
        "errors": [
            {
                "message": "Query cost is 1752, which exceeds the max cost limit (1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED"},
            }
        ]
    }
    shop = ScriptedShop([httpx.Response(200, json=answer)])

    with pytest.raises(StoreRejected, match="MAX_COST_EXCEEDED"):
        await _read(shop, clock)

    assert len(shop.requests) == 1


async def test_unreadable_answers_are_retried_then_unavailable(clock: FakeClock) -> None:
    """A 200 answer that is not GraphQL JSON is retried and then raises StoreUnavailable."""
    shop = ScriptedShop([httpx.Response(200, text="<html>oops</html>")])

    with pytest.raises(StoreUnavailable, match="unreadable"):
        await _read(shop, clock, max_attempts=2)

    assert len(shop.requests) == 2


async def test_paces_before_a_call_that_would_not_fit_the_bucket(clock: FakeClock) -> None:
    """After Shopify reports 100 points left, a 250-item read waits for its cost to restore."""
    items = [InventoryItemId(n) for n in range(1, 251)]
    nodes = [item_node(f"gid://shopify/InventoryItem/{n}", 1) for n in range(1, 251)]
    shop = ScriptedShop([gql({"nodes": nodes[:1]}, available=100), gql({"nodes": nodes})])
    client, http = make_client(shop, clock)

    async with http:
        await client.read_levels(items[:1])
        with capture_logs() as logs:
            await client.read_levels(items)

    assert clock.sleeps == [pytest.approx((751 - 100) / 100)]
    assert [e["event"] for e in logs] == ["shopify_request_paced"]


async def test_write_timeouts_resend_the_same_bytes_then_outcome_unknown(clock: FakeClock) -> None:
    """A write that times out every time is resent byte for byte, then raises OutcomeUnknown."""
    shop = ScriptedShop([fail(httpx.ReadTimeout)])
    client, http = make_client(shop, clock, max_attempts=4)

    async with http:
        with pytest.raises(OutcomeUnknown):
            await client.set_quantities(WRITE)

    assert len(shop.bodies) == 4
    assert len(set(shop.bodies)) == 1
    assert json.loads(shop.bodies[0])["variables"]["key"] == "key-1"


async def test_write_after_a_502_is_resent_and_succeeds(clock: FakeClock) -> None:
    """A 502 on a write resends the identical request, whose answer is the result."""
    shop = ScriptedShop([httpx.Response(502), APPLIED])
    client, http = make_client(shop, clock)

    async with http:
        result = await client.set_quantities(WRITE)

    assert result.applied
    assert shop.bodies[0] == shop.bodies[1]


async def test_write_that_never_connected_is_unavailable_not_unknown(clock: FakeClock) -> None:
    """A write whose every attempt failed to connect cannot have applied: StoreUnavailable."""
    shop = ScriptedShop([fail(httpx.ConnectError)])
    client, http = make_client(shop, clock, max_attempts=3)

    async with http:
        with pytest.raises(StoreUnavailable) as caught:
            await client.set_quantities(WRITE)

    assert not isinstance(caught.value, OutcomeUnknown)


async def test_write_refused_after_a_lost_answer_is_still_unknown(clock: FakeClock) -> None:
    """A 401 after a timed-out attempt raises OutcomeUnknown: the first attempt may have applied."""
    shop = ScriptedShop([fail(httpx.ReadTimeout), httpx.Response(401, text="no")])
    client, http = make_client(shop, clock)

    async with http:
        with pytest.raises(OutcomeUnknown) as caught:
            await client.set_quantities(WRITE)

    assert isinstance(caught.value.__cause__, StoreAuthFailed)


async def test_write_throttled_is_resent_and_not_unknown(clock: FakeClock) -> None:
    """THROTTLED writes were not executed: bounded throttling raises RateLimited, not unknown."""
    shop = ScriptedShop([throttled(requested=10, available=0)])
    client, http = make_client(shop, clock, max_attempts=2)

    async with http:
        with pytest.raises(RateLimited):
            await client.set_quantities(WRITE)

    assert len(set(shop.bodies)) == 1


# -- outage pause ------------------------------------------------------------------------------


async def test_a_call_failed_through_its_retries_pauses_every_call(clock: FakeClock) -> None:
    """After a read failed through all its attempts, the next calls fail at once, unsent;
    after the pause one call goes through, and its answer ends the pause."""
    shop = ScriptedShop([httpx.Response(503), httpx.Response(503), LEVEL])
    client, http = make_client(shop, clock, max_attempts=2, outage_pause_s=15)

    async with http:
        with pytest.raises(StoreUnavailable, match="HTTP 503"):
            await client.read_levels([ITEM])
        with capture_logs() as logs, pytest.raises(StoreUnavailable) as paused:
            await client.set_quantities(WRITE)
        sent_while_paused = len(shop.requests)
        clock.current += timedelta(seconds=15)
        with capture_logs() as back:
            first = await client.read_levels([ITEM])
        second = await client.read_levels([ITEM])

    assert str(paused.value).startswith(
        "Shopify answered HTTP 503; calls to Shopify paused since 2026-05-01 10:00:"
    )
    assert str(paused.value).endswith(" UTC, then retried")
    assert "ReadLevels" not in str(paused.value) and "http_503" not in str(paused.value)
    assert not isinstance(paused.value, OutcomeUnknown)
    assert logs == []
    assert sent_while_paused == 2
    assert first[ITEM].available == second[ITEM].available == 7
    assert len(shop.requests) == 4
    assert [e["event"] for e in back] == ["shopify_reachable_again"]


async def test_a_failed_probe_doubles_the_pause_up_to_the_cap(clock: FakeClock) -> None:
    """Each probe that fails pauses twice as long as the pause before, at most the cap."""
    shop = ScriptedShop([httpx.Response(502)])
    client, http = make_client(shop, clock, max_attempts=1, outage_pause_s=10)
    pauses = []

    async with http:
        for _ in range(7):
            with capture_logs() as logs, pytest.raises(StoreUnavailable):
                await client.read_levels([ITEM])
            [paused] = [e for e in logs if e["event"] == "shopify_calls_paused"]
            pauses.append(paused["pause_s"])
            clock.current += timedelta(seconds=paused["pause_s"])

    assert pauses == [10, 20, 40, 80, 160, 300, 300]
    assert len(shop.requests) == 7


async def test_calls_already_sent_when_the_pause_began_do_not_lengthen_it(
    clock: FakeClock,
) -> None:
    """Three concurrent calls fail together: one pause of 15 s, not 15, 30 and 60."""
    sent: list[httpx.Request] = []

    async def slow_503(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        await asyncio.sleep(0.01)  # all three are sent before the first fails
        return httpx.Response(503)

    client, http = make_client(slow_503, clock, max_attempts=1, outage_pause_s=15)

    async with http:
        with capture_logs() as logs:
            failures = await asyncio.gather(
                *(client.read_levels([ITEM]) for _ in range(3)), return_exceptions=True
            )

    assert all(isinstance(f, StoreUnavailable) for f in failures)
    assert len(sent) == 3
    assert [e["pause_s"] for e in logs if e["event"] == "shopify_calls_paused"] == [15]


@pytest.mark.parametrize(
    ("answer", "sends", "pause_s"),
    [
        (throttled(requested=300, available=100, rate=50), 2, 15),
        (httpx.Response(429, headers={"Retry-After": "1"}), 2, 15),
        (httpx.Response(401, text="no"), 1, 15),
        (httpx.Response(503), 2, 0),
    ],
    ids=["throttled", "429", "refused", "pause-off"],
)
async def test_throttling_refusals_or_a_zero_pause_never_pause(
    clock: FakeClock, answer: httpx.Response, sends: int, pause_s: float
) -> None:
    """Throttling to the last attempt and a refusal are answers, and ``outage_pause_s=0``
    turns the pause off: the next call is sent."""
    shop = ScriptedShop([*[answer] * sends, LEVEL])
    client, http = make_client(shop, clock, max_attempts=2, outage_pause_s=pause_s)

    async with http:
        with pytest.raises(StoreError):
            await client.read_levels([ITEM])
        level = await client.read_levels([ITEM])

    assert level[ITEM].available == 7
    assert len(shop.requests) == sends + 1


async def test_calls_their_cost_waits_and_the_pause_are_counted(clock: FakeClock) -> None:
    """Metrics see each call's outcome (ok, throttled then ok, unavailable, paused), the
    cost charged with the bucket's level, the wait for the bucket and the pause on and off."""
    metrics = FakeMetrics()
    shop = ScriptedShop(
        [
            gql({"nodes": [item_node("gid://shopify/InventoryItem/30322695", 7)]}, available=900),
            throttled(requested=752, available=666, rate=100),
            LEVEL,
            httpx.Response(503),
            LEVEL,
        ]
    )
    client, http = make_client(shop, clock, max_attempts=2, outage_pause_s=15, metrics=metrics)

    async with http:
        await client.read_levels([ITEM])
        await client.read_levels([ITEM])
        shop.steps[0:0] = [httpx.Response(503)]
        with pytest.raises(StoreUnavailable):
            await client.read_levels([ITEM])
        with pytest.raises(StoreUnavailable):
            await client.read_levels([ITEM])
        clock.current += timedelta(seconds=15)
        await client.read_levels([ITEM])

    assert metrics.named("shopify_call") == [
        ("ReadLevels", "ok"), ("ReadLevels", "ok"), ("ReadLevels", "unavailable"),
        ("ReadLevels", "paused"), ("ReadLevels", "ok"),
    ]  # fmt: skip
    assert metrics.named("shopify_cost")[0] == (10, 900)
    assert metrics.named("shopify_waited") == [(0.86,)]
    assert metrics.named("outage_pause") == [(True,), (False,)]
