"""Web app fixtures: the real app over ASGI, a migrated SQLite database and a fake Shopify."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopify_sync import bootstrap
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import upgrade_engine
from shopify_sync.bootstrap import Container
from shopify_sync.config import Settings, load_settings
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.ports import StoreClient
from shopify_sync.services.sync.report import SyncPolicy
from tests.fakes import FakeClock, FakeStoreClient

TOKEN = "test-api-token-1"
SECRET = "hush"


def make_settings(database_url: str, **overrides: str) -> Settings:
    """Valid settings for tests."""
    env = {
        "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
        "SHOPIFY_ACCESS_TOKEN": "shpat_test_token",
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
        "SHOPIFY_LOCATION_ID": "1",
        "SYNC_API_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        **overrides,
    }
    return load_settings(env, env_file=None)


class Harness:
    """The app under test and the fakes behind it."""

    def __init__(self, client: TestClient, store: FakeStoreClient, clock: FakeClock) -> None:
        self.client = client
        self.store = store
        self.clock = clock

    @property
    def container(self) -> Container:
        container: Container = self.client.app.state.shopify_sync.container  # type: ignore[attr-defined]
        return container


def builder(store: StoreClient, clock: FakeClock) -> Callable[[Settings], Awaitable[Container]]:
    """The app's container on a migrated database, ``store`` as Shopify and ``clock``."""

    async def build(config: Settings) -> Container:
        engine = create_engine(config.database_url)
        await upgrade_engine(engine)
        return bootstrap.assemble(config, engine, store, clock, SyncPolicy(max_attempts=3))

    return build


@pytest.fixture(name="harness")
def _harness(tmp_path: Path) -> Iterator[Harness]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}")
    clock = FakeClock()
    store = FakeStoreClient(clock)
    app = create_app(settings, builder=builder(store, clock), run_worker=False)
    with TestClient(app) as client:
        yield Harness(client, store, clock)
