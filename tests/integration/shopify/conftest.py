"""Fixtures: the local Shopify simulator over real HTTP, with a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopify_sync.simulator import ManualClock, SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from tests.integration.shopify.shopify_sim_harness import PRODUCTS, TOKEN, SimShop


@pytest.fixture(name="anyio_backend", scope="session")
def _anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="shop")
def _shop() -> Iterator[SimShop]:
    shop_clock = ManualClock()
    config = SimulatorConfig(products=PRODUCTS, locations=2, seed=5, access_token=TOKEN, hang_s=0.5)
    with run_in_thread(config, clock=shop_clock) as base_url:
        yield SimShop(base_url, shop_clock)
