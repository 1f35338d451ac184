"""The migrations on real SQLite and PostgreSQL: same tables, same columns, repeatable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import current_revision, head_revision, upgrade_engine
from shopify_sync.adapters.db.tables import metadata
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory

pytestmark = pytest.mark.anyio

CONTRACT = {
    "product_inventory": {
        "product_id", "sku", "title", "b2b_stock", "b2c_stock", "shopify_variant_id",
        "shopify_inventory_item_id", "sync_enabled", "sync_error", "sync_attempts",
        "next_attempt_at", "last_synced_at", "shopify_base", "shopify_seen_at",
        "created_at", "updated_at",
    },
    "inventory_sync_log": {
        "id", "product_id", "direction", "source", "field", "old_value", "new_value",
        "delta", "reference", "created_at",
    },
    "webhook_events": {
        "event_id", "webhook_id", "topic", "shop_domain", "triggered_at", "received_at",
        "processed_at", "status", "detail",
    },
}  # fmt: skip


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {
        table: {c["name"] for c in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


async def test_migrations_create_the_contract_columns(engine: AsyncEngine) -> None:
    """Every table and column the seed and the Inventory Service rely on exists."""
    async with engine.connect() as connection:
        columns = await connection.run_sync(_columns)

    for table, names in CONTRACT.items():
        assert names <= columns[table], table


async def test_migrations_match_the_table_definitions(engine: AsyncEngine) -> None:
    """The migrated schema has exactly the tables and columns of ``tables.py``."""
    async with engine.connect() as connection:
        columns = await connection.run_sync(_columns)

    assert columns == {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}


async def test_upgrade_twice_is_harmless(engine: AsyncEngine) -> None:
    """A second upgrade finds the database at head and changes nothing."""
    await upgrade_engine(engine)

    assert await current_revision(engine) == head_revision()


@pytest.mark.postgres
async def test_both_backends_create_identical_tables(
    postgres_database_url: str, tmp_path: object
) -> None:
    """SQLite and PostgreSQL end with the same tables and column names."""
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path}/other.db")
    other = create_engine(postgres_database_url)
    try:
        await upgrade_engine(sqlite)
        await upgrade_engine(other)
        async with sqlite.connect() as a, other.connect() as b:
            assert await a.run_sync(_columns) == await b.run_sync(_columns)
    finally:
        await sqlite.dispose()
        await other.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    """The embedded database is tuned for concurrent readers and enforces foreign keys."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()

    assert (journal, keys) == ("wal", 1)


async def test_alert_states_from_before_channels_stand_for_every_channel(
    database_url: str,
) -> None:
    """A condition notified before alert states were kept per channel is kept, with channel
    '' (every channel), and one channel can then be told apart from the others."""
    engine = create_engine(database_url)
    try:
        await upgrade_engine(engine, "0006")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO alert_states (condition, message, since) "
                    "VALUES ('products_parked', '2 parked', '2026-12-01 10:00:00+00:00')"
                )
            )
        await upgrade_engine(engine)
        uow = SqlUnitOfWorkFactory(engine)
        async with uow() as unit:
            before = await unit.alerts.notified()
            await unit.alerts.spread(["mail", "hook"])
            await unit.alerts.cleared("products_parked", "hook")
            await unit.commit()
        async with uow() as unit:
            after = await unit.alerts.notified()
            await unit.alerts.started("drift_high", "hook", "60 differ", datetime.now(UTC))
            await unit.commit()
    finally:
        await engine.dispose()

    assert before == {"": {"products_parked": "2 parked"}}
    assert after == {"mail": {"products_parked": "2 parked"}}
