"""The client credentials grant against the simulator over real HTTP: one shared exchange,
renewal before expiry and after a 401, a write resent under its key, and invalid_client."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from shopify_sync.errors import StoreAuthFailed
from shopify_sync.simulator.config import DEFAULT_CLIENT_SECRET
from shopify_sync.types import InventoryItemId
from tests.integration.shopify.shopify_sim_harness import SimShop
from tests.integration.shopify.test_shopify_client_simulator import write_of

pytestmark = pytest.mark.anyio


async def _grants(shop: SimShop) -> int:
    return int((await shop.control("GET", "/auth"))["grants"])


async def test_concurrent_calls_share_one_exchange(shop: SimShop) -> None:
    """Ten calls made at once before any token exists cause exactly one exchange."""
    async with shop.app_client() as (client, tokens):
        results = await asyncio.gather(*(client.locations() for _ in range(10)))

    assert all(results)
    assert (tokens.exchanges, await _grants(shop)) == (1, 1)


async def test_token_is_renewed_well_before_it_expires(shop: SimShop) -> None:
    """Past 80% of its lifetime the token is exchanged again before use, never refused."""
    await shop.control("POST", "/auth", {"token_lifetime_s": 100})
    async with shop.app_client() as (client, tokens):
        await client.locations()
        shop.shop_clock.advance(79)
        await client.locations()
        exchanges_before = tokens.exchanges
        shop.shop_clock.advance(2)
        with capture_logs() as logs:
            await client.locations()

    assert (exchanges_before, tokens.exchanges) == (1, 2)
    assert "shopify_token_renewed_after_401" not in [e["event"] for e in logs]


async def test_a_401_gets_one_new_token_and_the_same_request(shop: SimShop) -> None:
    """Tokens revoked under a running client: the refused call is sent again with a new one."""
    async with shop.app_client() as (client, tokens):
        await client.locations()
        await shop.control("POST", "/auth", {"expire_tokens": True})
        with capture_logs() as logs:
            found = await client.locations()

    assert found
    assert tokens.exchanges == 2
    assert "shopify_token_renewed_after_401" in [e["event"] for e in logs]


async def test_a_write_refused_401_is_applied_once_after_renewal(shop: SimShop) -> None:
    """A write answered 401 is resent with its key after a new token and applied exactly once."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))
    write = write_of((item, held[item] + 7, held[item]))
    async with shop.app_client() as (client, _):
        await client.locations()
        await shop.control("POST", "/auth", {"expire_tokens": True})
        result = await client.set_quantities(write)
        again = await client.set_quantities(write)  # a resend replays the first answer
        levels = await client.read_levels([InventoryItemId(item)])
    history = await shop.control("GET", f"/history?inventory_item_id={item}")
    ours = [a for a in history["adjustments"] if a["source"] == "app"]

    assert result.applied and again.applied
    assert levels[InventoryItemId(item)].available == held[item] + 7
    assert len(ours) == 1


async def test_invalid_client_names_what_to_check_and_is_not_hammered(shop: SimShop) -> None:
    """A wrong secret raises StoreAuthFailed naming the variables; calls within the pause do not
    exchange again; after it one exchange is tried again."""
    wrong = "shpss_wrong_secret_value"
    async with shop.app_client(secret=wrong) as (client, tokens):
        with pytest.raises(StoreAuthFailed) as first:
            await client.locations()
        for _ in range(5):
            with pytest.raises(StoreAuthFailed):
                await client.read_levels([InventoryItemId(1)])
        refusals_in_pause = (await shop.control("GET", "/auth"))["refusals"]
        shop.shop_clock.advance(61)
        with pytest.raises(StoreAuthFailed):
            await client.locations()

    message = str(first.value)
    assert first.value.code == "invalid_client"
    assert "SHOPIFY_CLIENT_ID" in message and "SHOPIFY_CLIENT_SECRET" in message
    assert wrong not in message and DEFAULT_CLIENT_SECRET not in message
    assert refusals_in_pause == 1
    assert tokens.exchanges == 2


async def test_an_uninstalled_app_recovers_once_installed_again(shop: SimShop) -> None:
    """After an uninstall calls fail with invalid_client; once reinstalled, the next exchange
    after the pause works and calls succeed."""
    async with shop.app_client() as (client, _):
        await client.locations()
        await shop.control("POST", "/auth", {"installed": False})
        with pytest.raises(StoreAuthFailed):
            await client.locations()
        await shop.control("POST", "/auth", {"installed": True})
        shop.shop_clock.advance(61)
        found = await client.locations()

    assert found


async def test_nothing_logged_carries_the_secret_or_a_token(shop: SimShop) -> None:
    """Exchanges, renewals and refusals log no secret and no token."""
    with capture_logs() as logs:
        async with shop.app_client() as (client, tokens):
            await client.locations()
            await shop.control("POST", "/auth", {"expire_tokens": True})
            await client.locations()
            token = await tokens.token()
        async with shop.app_client(secret="shpss_wrong_secret_value") as (client, _):
            with pytest.raises(StoreAuthFailed):
                await client.locations()
    text = repr(logs) + repr(tokens)

    assert DEFAULT_CLIENT_SECRET not in text
    assert "shpss_wrong_secret_value" not in text
    assert token not in text


async def test_concurrent_calls_refused_401_share_one_renewal(shop: SimShop) -> None:
    """Ten calls refused at once after a revocation cause one new exchange, and all succeed."""
    async with shop.app_client() as (client, tokens):
        await client.locations()
        await shop.control("POST", "/auth", {"expire_tokens": True})
        results = await asyncio.gather(*(client.locations() for _ in range(10)))

    assert all(results)
    assert tokens.exchanges == 2
