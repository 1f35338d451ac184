"""``/livez`` and ``/readyz`` through the real app: ready only on a reachable database
migrated to this version."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi.testclient import TestClient

from shopify_sync import bootstrap
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import readiness_problem, upgrade_engine
from shopify_sync.bootstrap import Container
from shopify_sync.config import Settings
from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.engine import SyncPolicy
from tests.factories import UNREACHABLE
from tests.fakes import FakeClock, FakeStoreClient
from tests.integration.web.conftest import Harness, make_settings


def test_a_migrated_database_is_live_and_ready(harness: Harness) -> None:
    """Both probes answer 200 on a migrated, reachable database."""
    live = harness.client.get("/livez")
    ready = harness.client.get("/readyz")

    assert (live.status_code, ready.status_code) == (200, 200)
    assert ready.json() == {"status": "ok"}


def test_an_unreachable_database_is_live_but_not_ready(harness: Harness) -> None:
    """With the database unreachable the process is live, and not ready (503, why)."""
    broken = create_engine(UNREACHABLE)
    harness.container.ready = functools.partial(readiness_problem, broken)

    live = harness.client.get("/livez")
    ready = harness.client.get("/readyz")
    harness.client.portal.call(broken.dispose)  # type: ignore[union-attr]

    assert (live.status_code, ready.status_code) == (200, 503)
    assert ready.json()["detail"].startswith("database unreachable")


def test_a_database_behind_this_version_is_not_ready(tmp_path: Path) -> None:
    """A database migrated to an older revision is not ready, and the answer says to run
    `shopify-sync db upgrade`."""
    clock = FakeClock()

    async def build(config: Settings) -> Container:
        engine = create_engine(config.database_url)
        await upgrade_engine(engine, "0001")
        return bootstrap.assemble(
            config, engine, FakeStoreClient(clock), clock, SyncPolicy(max_attempts=3)
        )

    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    with TestClient(create_app(settings, builder=build, run_worker=False)) as client:
        ready = client.get("/readyz")

    assert ready.status_code == 503
    assert "database at migration 0001" in ready.json()["detail"]
    assert "shopify-sync db upgrade" in ready.json()["detail"]
