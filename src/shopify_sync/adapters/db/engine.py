"""Engine construction: one async engine per process, tuned per backend.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` transactions
(a writer takes the lock up front instead of failing halfway on an upgrade), so that
concurrent webhooks and syncs queue instead of failing with "database is locked".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _tune_sqlite(engine)
        return engine
    parsed, connect_args = _postgres_url(url)
    return create_async_engine(
        parsed,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args=connect_args,
    )


def _postgres_url(url: str) -> tuple[URL, dict[str, Any]]:
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    schema = parsed.query.get("search_path")
    if schema:
        # asyncpg takes server settings as an argument, not in the URL: a schema per
        # deployment (or per test) is named as ?search_path=NAME.
        connect_args["server_settings"] = {"search_path": str(schema)}
        parsed = parsed.difference_update_query(["search_path"])
    return parsed, connect_args


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """``asyncpg.connect`` arguments for a ``postgresql+asyncpg://`` URL, as the engine's."""
    parsed, connect_args = _postgres_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return {"dsn": dsn, **connect_args}


def configure_sqlite(dbapi_connection: Any) -> None:
    """The settings every SQLite connection of ours runs with (also the webhook path's own)."""
    # Take transaction control from the driver so that BEGIN IMMEDIATE is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        configure_sqlite(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
