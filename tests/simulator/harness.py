"""Test helpers: a simulator served over real HTTP, its client, and a webhook sink."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from shopify_sync.simulator import ManualClock, SimulatorConfig, create_app
from shopify_sync.simulator.sim import Simulator
from shopify_sync.simulator.testing import run_app_in_thread

ORACLES = Path(__file__).resolve().parents[1] / "oracles"
TOKEN = "shpat_test_token"
SECRET = "shpss_test_secret"
SET_MUTATION = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""
LEVEL_QUERY = """
query Level($item: ID!, $loc: ID!) {
  inventoryItem(id: $item) {
    id sku
    inventoryLevel(locationId: $loc) {
      id updatedAt quantities(names: ["available", "on_hand", "committed"]) { name quantity }
    }
  }
}
"""


@dataclasses.dataclass
class Shop:
    """A running simulator: its URL, an HTTP client, its state and its clock."""

    base_url: str
    http: httpx.Client
    sim: Simulator
    clock: ManualClock

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, version: str = "2026-04"
    ) -> dict[str, Any]:
        response = self.http.post(
            f"/admin/api/{version}/graphql.json",
            json={"query": query, "variables": variables or {}},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def first_item(self) -> tuple[str, str, int]:
        """(inventory item gid, primary location gid, available there) of SKU-000001."""
        store = self.sim.store
        item = store.items[store.variants[store.sku_index["SKU-000001"][0]].inventory_item_id]
        location = store.primary_location()
        assert location is not None
        return (
            f"gid://shopify/InventoryItem/{item.id}",
            f"gid://shopify/Location/{location.id}",
            item.levels[location.id].available,
        )

    def available(self, item_gid: str, location_gid: str, version: str = "2026-04") -> int:
        body = self.gql(LEVEL_QUERY, {"item": item_gid, "loc": location_gid}, version)
        quantities = body["data"]["inventoryItem"]["inventoryLevel"]["quantities"]
        return int(quantities[0]["quantity"])


def start_shop(config: SimulatorConfig, clock: ManualClock) -> Iterator[Shop]:
    app = create_app(config, clock)
    # Waiting for uvicorn's shutdown costs 0.2 s a test; only a state file needs it.
    with run_app_in_thread(app, wait_on_exit=config.state_file is not None) as base_url:
        headers = {"X-Shopify-Access-Token": TOKEN}
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
            yield Shop(base_url, http, app.state.sim, clock)


def make_config(**overrides: Any) -> SimulatorConfig:
    values: dict[str, Any] = {
        "products": 20,
        "access_token": TOKEN,
        "webhook_secret": SECRET,
        "webhook_timeout_s": 1.0,
        "hang_s": 0.5,
    }
    values.update(overrides)
    return SimulatorConfig(**values)


@dataclasses.dataclass
class Received:
    """One request the webhook sink got, with the exact body bytes."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Sink:
    """An HTTP endpoint that records webhook deliveries and answers with a chosen status."""

    url: str
    received: list[Received]
    statuses: list[int]
    delay_s: float = 0.0

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        import time

        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)
