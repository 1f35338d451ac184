"""Fixtures for the Shopify client's unit tests: async backend, fake clock, scripted shop."""

from __future__ import annotations

import pytest

from tests.unit.shopify.shopify_fakes import FakeClock


@pytest.fixture(name="anyio_backend", scope="session")
def _anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()
