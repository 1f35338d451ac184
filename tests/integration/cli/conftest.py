"""The ``shopify-sync`` command run as a process, against the local Shopify simulator.

Each test gets its own simulator (a small catalogue from a seed file) and its own migrated
SQLite database; ``cli(...)`` runs the real console entry point with the environment set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.services.linking import BULK_LINK_THRESHOLD
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from tests.conftest import migrated_engine

ACCESS = "shpat_cli_token"
SECRET = "shpss_cli_secret"
CATALOGUE = {
    "locations": ["Main warehouse", "Overflow"],
    "products": [
        {"title": "Mug", "variants": [{"sku": "MUG-1", "available": 5}]},
        {"title": "Cap", "variants": [{"sku": "CAP-1", "available": 7}]},
        {"title": "Pen", "variants": [{"sku": "PEN-1", "available": 2}]},
        {"title": "Twin A", "variants": [{"sku": "TWIN", "available": 1}]},
        {"title": "Twin B", "variants": [{"sku": "TWIN", "available": 1}]},
        {"title": "Gift card", "variants": [{"sku": "GIFT", "tracked": False}]},
    ],
}


@dataclass
class Result:
    """What a command printed and its exit code."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """The output as JSON."""
        return json.loads(self.out)


@dataclass
class Shop:
    """The simulator, our database, and the command line pointed at both."""

    url: str
    database_url: str
    env: dict[str, str]
    cwd: Path

    def cli(self, *args: str, stdin: str | None = None) -> Result:
        """Run ``shopify-sync ARGS`` as its own process."""
        done = subprocess.run(
            [sys.executable, "-m", "shopify_sync", *args],
            env=self.env, cwd=self.cwd, input=stdin, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the simulator's control API."""
        response = httpx.request(method, f"{self.url}/_simulator{path}", timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def available(self, sku: str) -> int:
        """Shopify's ``available`` for the (first) variant with this SKU."""
        levels = self.sim("GET", f"/levels?sku={sku}")["levels"]
        return int(next(row for row in levels if row["location_id"] == self.location)["available"])

    @property
    def location(self) -> int:
        return int(self.env["SHOPIFY_LOCATION_ID"])

    def variant(self, sku: str) -> int:
        """The variant id of the (first) variant with this SKU."""
        return int(self.sim("GET", f"/levels?sku={sku}")["levels"][0]["variant_id"])

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run SQL on our database, as the Inventory Service would."""

        async def run() -> list[Any]:
            engine = create_engine(self.database_url)
            try:
                async with engine.begin() as c:
                    result = await c.execute(text(statement), params)
                    return list(result.all()) if result.returns_rows else []
            finally:
                await engine.dispose()

        return asyncio.run(run())


@pytest.fixture(name="shop")
def _shop(tmp_path: Path) -> Iterator[Shop]:
    seed = tmp_path / "catalogue.json"
    seed.write_text(json.dumps(CATALOGUE), encoding="utf-8")
    config = SimulatorConfig(access_token=ACCESS, webhook_secret=SECRET, seed_file=seed)
    with open_shop(tmp_path, config, "Main warehouse") as shop:
        yield shop


@pytest.fixture(name="large_shop")
def _large_shop(tmp_path: Path) -> Iterator[Shop]:
    """A simulator with as many generated products as auto-linking reads in bulk."""
    config = SimulatorConfig(
        access_token=ACCESS, webhook_secret=SECRET, products=BULK_LINK_THRESHOLD, seed=3
    )
    with open_shop(tmp_path, config, None) as shop:
        yield shop


@contextlib.contextmanager
def open_shop(tmp_path: Path, config: SimulatorConfig, location_name: str | None) -> Iterator[Shop]:
    """The simulator of ``config`` in a thread, a migrated SQLite database, the CLI's
    environment pointed at both (the location named ``location_name``, else the first)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def migrate() -> None:
        async with migrated_engine(database_url):
            pass

    asyncio.run(migrate())
    with run_in_thread(config) as url:
        state = httpx.get(f"{url}/_simulator/state").json()
        location = next(
            loc["id"]
            for loc in state["locations"]
            if location_name is None or loc["name"] == location_name
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SHOPIFY_", "SYNC_", "DATABASE_", "ADMIN_"))
        }
        env.update(
            SHOPIFY_STORE_DOMAIN="demo.myshopify.com",
            SHOPIFY_ACCESS_TOKEN=ACCESS,
            SHOPIFY_WEBHOOK_SECRET=SECRET,
            SHOPIFY_LOCATION_ID=str(location),
            SHOPIFY_ADMIN_URL=url,
            SYNC_API_TOKEN="cli-test-token",
            DATABASE_URL=database_url,
            LOG_LEVEL="ERROR",
            COLUMNS="200",
        )
        if "COVERAGE_PROCESS_CONFIG" in env:
            # The command runs in tmp_path; its coverage data belongs with the session's.
            env["COVERAGE_FILE"] = str(Path.cwd() / ".coverage")
        yield Shop(url, database_url, env, tmp_path)
