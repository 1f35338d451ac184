"""SHOPIFY_LOCATION_ID is checked once per process, through the Shopify adapter, and a wrong
one holds every sync back instead of parking products (issue 12, item 4)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shopify_sync import bootstrap
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import upgrade_engine
from shopify_sync.domain.model import Location, Product
from shopify_sync.entrypoints.worker import Worker
from shopify_sync.errors import ConfigError
from shopify_sync.services.engine import SyncPolicy
from shopify_sync.types import LocationId
from tests.fakes import FakeClock, FakeStoreClient, unavailable
from tests.integration.web.conftest import Harness, make_settings
from tests.integration.web.test_app import AUTH, add_product

pytestmark = pytest.mark.anyio


@dataclass
class CountingStore(FakeStoreClient):
    """A fake Shopify that counts its location reads."""

    location_reads: int = 0

    async def location(self, location_id: LocationId) -> Location | None:
        self.location_reads += 1
        return await super().location(location_id)


async def container(tmp_path: Path, store: FakeStoreClient) -> bootstrap.Container:
    """The service's container on a migrated SQLite database, ``store`` as Shopify."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'loc.db'}")
    engine = create_engine(settings.database_url)
    await upgrade_engine(engine)
    return bootstrap.assemble(settings, engine, store, FakeClock(), SyncPolicy())


async def test_a_good_location_is_read_once_per_process(tmp_path: Path) -> None:
    """After one successful check, later checks ask Shopify nothing."""
    store = CountingStore(FakeClock())
    c = await container(tmp_path, store)
    try:
        for _ in range(3):
            await c.check_location()
    finally:
        await c.aclose()

    assert store.location_reads == 1


async def test_a_wrong_location_is_a_config_error_checked_again_after_an_outage(
    tmp_path: Path,
) -> None:
    """An outage leaves the check to be done again; an inactive location is a ConfigError
    naming SHOPIFY_LOCATION_ID and `shopify-sync locations`."""
    store = CountingStore(FakeClock())
    store.shop_locations = [Location(LocationId(1), "Old shop", False)]
    store.fail_next.append(unavailable())
    c = await container(tmp_path, store)
    try:
        with pytest.raises(Exception, match="503"):
            await c.check_location()
        with pytest.raises(ConfigError) as refused:
            await c.check_location()
    finally:
        await c.aclose()

    assert refused.value.variable == "SHOPIFY_LOCATION_ID"
    assert "location 1 (Old shop) is inactive" in str(refused.value)
    assert "shopify-sync locations" in str(refused.value)
    assert store.location_reads == 2


async def test_the_worker_holds_syncing_back_while_the_location_is_wrong(tmp_path: Path) -> None:
    """The background loops sync nothing while the location is wrong, and say why."""
    store = CountingStore(FakeClock())
    store.shop_locations = []
    c = await container(tmp_path, store)
    worker = Worker(c)
    try:
        held = await worker._location_checked()
        again = await worker._location_checked()
    finally:
        await c.aclose()

    assert (held, again) == (False, False)
    assert worker.last_error is not None
    assert "SHOPIFY_LOCATION_ID: the store has no location with id 1" in worker.last_error


async def test_the_worker_waits_for_shopify_to_check_the_location(tmp_path: Path) -> None:
    """With Shopify down the check cannot be made: syncing waits and /health says why."""
    store = CountingStore(FakeClock())
    store.fail_next.append(unavailable())
    c = await container(tmp_path, store)
    worker = Worker(c)
    try:
        held = await worker._location_checked()
        passed = await worker._location_checked()
    finally:
        await c.aclose()

    assert (held, passed) == (False, True)
    assert worker.last_error is not None and "SHOPIFY_LOCATION_ID not checked" in worker.last_error


def test_sync_requests_refuse_a_wrong_location_without_touching_products(
    harness: Harness,
) -> None:
    """Once the location was found wrong (the worker checks it), POST /sync/{id} and /sync/all
    answer 503 naming SHOPIFY_LOCATION_ID without asking Shopify; the product records no
    error."""
    pid, _ = add_product(harness, ours=5, base=3, shopify=3)
    harness.store.shop_locations = []
    with pytest.raises(ConfigError):
        harness.client.portal.call(harness.container.check_location)  # type: ignore[union-attr]

    one = harness.client.post(f"/sync/{pid}", headers=AUTH)
    every = harness.client.post("/sync/all", headers=AUTH)

    async def row() -> Product | None:
        async with harness.container.uow() as unit:
            return await unit.products.get(pid)

    product = harness.client.portal.call(row)  # type: ignore[union-attr]

    assert (one.status_code, every.status_code) == (503, 503)
    assert "SHOPIFY_LOCATION_ID" in one.json()["detail"]
    assert "shopify-sync locations" in every.json()["detail"]
    assert product is not None
    assert (product.sync_error, product.sync_attempts, product.parked_at) == (None, 0, None)
    assert harness.store.writes == []
