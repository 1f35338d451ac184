"""A value the database refuses is a bad request (StorageRejected), not an outage, on both
backends and through both paths (the unit of work and the webhook level store)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.failure import translated
from shopify_sync.adapters.db.level_store import create_level_store
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.inbound import webhook_event
from shopify_sync.errors import StorageError, StorageRejected
from shopify_sync.services import handlers
from tests.factories import UNREACHABLE
from tests.fakes import FakeClock
from tests.integration.db.test_level_store import (
    LOCATION,
    NOW,
    insert_product,
    level,
    recorded,
    row,
)

pytestmark = pytest.mark.anyio

BEYOND_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
"""A timestamp Python holds but no column can: in UTC it is past the year 9999."""


async def test_level_store_refuses_a_timestamp_no_column_holds(
    engine: AsyncEngine, database_url: str
) -> None:
    """A delivery whose timestamp cannot be stored raises StorageRejected, changing nothing."""
    pid, item = await insert_product(engine, b2c=10, base=10)
    store = create_level_store(SqlUnitOfWorkFactory(engine), database_url)
    try:
        with pytest.raises(StorageRejected, match="refused a value"):
            await handlers.apply_inventory_levels(
                [level("e-far", item, 5, BEYOND_9999)], store, FakeClock(), LOCATION
            )
    finally:
        await store.aclose()

    assert (await row(engine, pid), await recorded(engine)) == ((10, 10, None), [])


async def test_unit_of_work_refuses_a_timestamp_no_column_holds(engine: AsyncEngine) -> None:
    """The same value through a repository raises StorageRejected and commits nothing."""
    meta = level("e-far", 1, 5, BEYOND_9999).meta

    async def record() -> None:
        async with SqlUnitOfWorkFactory(engine)() as unit:
            await unit.webhooks.record(webhook_event(meta, NOW, "failed", "x"))
            await unit.commit()

    with pytest.raises(StorageRejected):
        await record()

    assert await recorded(engine) == []


async def test_unit_of_work_refuses_an_integer_beyond_its_column(engine: AsyncEngine) -> None:
    """An integer beyond the column (PostgreSQL's int4) or the driver (SQLite's 64 bits) is
    StorageRejected, and the next unit of work on the same engine works."""
    too_big = 2**64

    async def update() -> None:
        async with SqlUnitOfWorkFactory(engine)() as unit:
            await unit.products._c.execute(text("UPDATE product_inventory SET b2c_stock = :n"),
                                           {"n": too_big})  # fmt: skip

    with pytest.raises(StorageRejected):
        await update()
    async with SqlUnitOfWorkFactory(engine)() as unit:
        found = await unit.products.get("nothing")

    assert found is None


def test_driver_errors_are_told_apart() -> None:
    """Refused values (constraint, range, size) become StorageRejected; anything else, such
    as a lost connection, stays a StorageError (503)."""
    refused = [
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        asyncpg.NumericValueOutOfRangeError("integer out of range"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
    ]
    failed = [
        sqlite3.OperationalError("disk I/O error"),
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        OSError("connection refused"),
    ]

    assert [type(translated(e)) for e in refused] == [StorageRejected] * len(refused)
    assert [type(translated(e)) for e in failed] == [StorageError] * len(failed)


async def test_an_unreachable_database_is_still_an_outage() -> None:
    """A database that cannot be reached stays a plain StorageError (503), not a refusal."""
    from shopify_sync.adapters.db.engine import create_engine

    engine = create_engine(UNREACHABLE)

    async def connect() -> None:
        async with SqlUnitOfWorkFactory(engine)():
            pass

    try:
        with pytest.raises(StorageError) as caught:
            await connect()
    finally:
        await engine.dispose()

    assert not isinstance(caught.value, StorageRejected)


async def test_unit_of_work_refuses_a_broken_constraint(engine: AsyncEngine) -> None:
    """A row breaking a constraint (a product id taken twice) is StorageRejected."""

    async def insert_twice() -> None:
        async with SqlUnitOfWorkFactory(engine)() as unit:
            for _ in range(2):
                await unit.products._c.execute(
                    text("INSERT INTO product_inventory (product_id) VALUES ('dup')")
                )

    with pytest.raises(StorageRejected, match="refused a value"):
        await insert_twice()


def test_the_cli_tells_a_refusal_from_an_outage() -> None:
    """On the command line a refused value exits 2 (bad input), a database failure 5."""
    from shopify_sync.entrypoints.cli import exit_code

    codes = (exit_code(StorageRejected("refused")), exit_code(StorageError("gone")))

    assert codes == (2, 5)
