"""Helpers for the Shopify client's integration tests: the simulator's control API and a clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from shopify_sync.adapters.shopify import ShopifyClient
from shopify_sync.adapters.shopify.auth import ClientCredentials
from shopify_sync.adapters.shopify.bulk import BulkPolling
from shopify_sync.services.ports import Clock
from shopify_sync.simulator import ManualClock
from shopify_sync.simulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from shopify_sync.types import LocationId

TOKEN = "shpat_integration_token"
PRODUCTS = 6


class SimulatorClock:
    """The client's clock on the simulator's manual time: sleeping advances the shop's clock.

    Each sleep also yields briefly for real, so the simulator's background work (bulk
    queries) can progress in its own thread.
    """

    def __init__(self, shop_clock: ManualClock) -> None:
        self._shop_clock = shop_clock
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._shop_clock.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._shop_clock.advance(seconds)
        await asyncio.sleep(0.01)


_: type[Clock] = SimulatorClock


@dataclass
class SimShop:
    """A running simulator: its URL, its clock, and its control API."""

    base_url: str
    shop_clock: ManualClock

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the control API under /_simulator and return its JSON."""
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            response = await http.request(method, f"/_simulator{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()

    async def location(self) -> LocationId:
        """The shop's primary location."""
        state = await self.control("GET", "/state")
        return LocationId(state["locations"][0]["id"])

    async def levels(self, location: LocationId) -> dict[int, int]:
        """Available by inventory item id at *location*, as the simulator holds it."""
        rows = (await self.control("GET", f"/levels?location_id={location}&limit=1000"))["levels"]
        return {row["inventory_item_id"]: row["available"] for row in rows}

    @contextlib.asynccontextmanager
    async def client(
        self,
        version: str = "2026-04",
        *,
        token: str = TOKEN,
        timeout_s: float = 30.0,
        **kwargs: Any,
    ) -> AsyncIterator[tuple[ShopifyClient, SimulatorClock]]:
        """A ShopifyClient on this shop (its own connection pool) and the clock it sleeps on."""
        clock = SimulatorClock(self.shop_clock)
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            client = ShopifyClient(
                self.base_url,
                version,
                token,
                await self.location(),
                http=http,
                clock=clock,
                bulk_polling=BulkPolling(first_s=0.05, factor=1.5, max_s=0.5, timeout_s=60),
                **kwargs,
            )
            yield client, clock

    @contextlib.asynccontextmanager
    async def app_client(
        self, *, secret: str = DEFAULT_CLIENT_SECRET, version: str = "2026-04"
    ) -> AsyncIterator[tuple[ShopifyClient, ClientCredentials]]:
        """A ShopifyClient authenticated by the client credentials grant, and its tokens."""
        clock = SimulatorClock(self.shop_clock)
        async with httpx.AsyncClient(timeout=5.0) as http:
            tokens = ClientCredentials(
                self.base_url, "demo.myshopify.com", DEFAULT_CLIENT_ID, secret,
                http=http, clock=clock,
            )  # fmt: skip
            client = ShopifyClient(
                self.base_url, version, tokens, await self.location(), http=http, clock=clock
            )
            yield client, tokens
