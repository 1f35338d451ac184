"""Service-layer fixtures: a migrated SQLite database, a fake Shopify and a fake clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from shopify_sync.adapters.db.level_store import create_level_store
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.allocation import Allocation
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.sync.report import SyncPolicy
from tests.conftest import migrated_engine
from tests.factories import random_item_id, random_product_id
from tests.fakes import FakeClock, FakeStoreClient


class World:
    """Our database, a fake Shopify, a clock and the engine, with helpers to arrange them."""

    def __init__(
        self,
        uow: SqlUnitOfWorkFactory,
        clock: FakeClock,
        store: FakeStoreClient,
        database_url: str | None = None,
    ) -> None:
        self.uow = uow
        self.levels = create_level_store(uow, database_url or str(uow.engine.url))
        self.clock = clock
        self.store = store
        self.engine = SyncEngine(uow, store, clock, SyncPolicy(max_attempts=3))

    async def product(
        self,
        *,
        ours: int,
        base: int | None,
        shopify: int | None,
        enabled: bool = True,
        variant: int | None = None,
        link_item: bool = True,
        b2b: int = 100,
        allocation: Allocation | None = None,
    ) -> tuple[str, int]:
        """A product written as the Inventory Service would, with its Shopify item
        (``allocation``: its own policy, buffer and cap; None: the settings' default)."""
        pid, item = random_product_id(), random_item_id()
        if shopify is not None or variant is not None:
            self.store.add(item, shopify, variant=variant)
        # A row with a base is as a sync (or the migration) leaves it: its own policy
        # (``split`` unless given) and the pool agreed on (the base, or the pool as it is).
        own_policy = None if base is None else "split"
        pool_base = base
        if base is not None and allocation is not None:
            pool_base = allocation.pool(b2b, ours)
        async with self.uow.engine.begin() as c:
            await c.execute(
                text(
                    "INSERT INTO product_inventory (product_id, sku, b2c_stock, b2b_stock,"
                    " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
                    " allocation_policy, allocation_buffer, allocation_cap, pool_base)"
                    " VALUES (:p, :sku, :ours, :b2b, :v, :i, :e, :b, :policy, :buffer, :cap,"
                    " :pool_base)"
                ),
                {
                    "p": pid,
                    "sku": f"SKU-{pid}",
                    "ours": ours,
                    "v": str(variant or 1),
                    "i": item if link_item else None,
                    "e": enabled,
                    "b": base,
                    "b2b": b2b,
                    "policy": allocation.policy if allocation else own_policy,
                    "buffer": allocation and allocation.buffer,
                    "cap": allocation and allocation.cap,
                    "pool_base": pool_base,
                },
            )
        return pid, item

    async def set_b2b(self, pid: str, value: int) -> None:
        """The Inventory Service writes b2b_stock straight to the table."""
        async with self.uow.engine.begin() as c:
            await c.execute(
                text("UPDATE product_inventory SET b2b_stock = :v WHERE product_id = :p"),
                {"v": value, "p": pid},
            )

    async def set_b2c(self, pid: str, value: int) -> None:
        """The Inventory Service writes b2c_stock straight to the table."""
        async with self.uow.engine.begin() as c:
            await c.execute(
                text("UPDATE product_inventory SET b2c_stock = :v WHERE product_id = :p"),
                {"v": value, "p": pid},
            )

    async def row(self, pid: str) -> tuple[int, int | None]:
        """Our (b2c_stock, shopify_base)."""
        async with self.uow() as unit:
            product = await unit.products.get(pid)
        assert product is not None
        return product.b2c_stock, product.shopify_base

    async def b2c_ledger(self, pid: str) -> int:
        """The sum of every logged change to our b2c_stock."""
        async with self.uow.engine.connect() as c:
            total = await c.scalar(
                text(
                    "SELECT COALESCE(SUM(delta), 0) FROM inventory_sync_log WHERE product_id = :p"
                    " AND field = 'b2c_stock' AND direction IN ('inbound', 'local')"
                ),
                {"p": pid},
            )
        return int(total or 0)


@contextlib.asynccontextmanager
async def open_world(
    path: Path, shopify: Callable[[FakeClock], FakeStoreClient]
) -> AsyncIterator[World]:
    """A world on a migrated SQLite database at ``path``, ``shopify(clock)`` as Shopify;
    its level store and engine are closed afterwards."""
    async with open_world_at(f"sqlite+aiosqlite:///{path}", shopify) as world:
        yield world


@contextlib.asynccontextmanager
async def open_world_at(
    url: str, shopify: Callable[[FakeClock], FakeStoreClient]
) -> AsyncIterator[World]:
    """A world on the empty database at ``url`` (SQLite or PostgreSQL), migrated."""
    clock = FakeClock()
    async with migrated_engine(url) as engine:
        world = World(SqlUnitOfWorkFactory(engine), clock, shopify(clock), url)
        try:
            yield world
        finally:
            await world.levels.aclose()


@pytest.fixture(name="world")
async def _world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path / "svc.db", FakeStoreClient) as world:
        yield world
