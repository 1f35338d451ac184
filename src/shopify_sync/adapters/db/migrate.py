"""Apply the Alembic migrations, from the command line or inside the running service."""

from __future__ import annotations

import asyncio
import functools
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.failure import opening, probe_sqlite
from shopify_sync.errors import StorageError

_SCRIPT_LOCATION = str(files("shopify_sync.adapters.db") / "migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for our migrations, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration revision shipped with this version (read once)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade_url(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (blocking; call it outside an event loop).

    Raises:
        StorageError: the database cannot be opened or reached.
    """
    probe_sqlite(url)
    with opening(url):
        command.upgrade(alembic_config(url), revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade through an existing async engine (from inside the service's event loop).

    Raises:
        StorageError: the database cannot be opened or reached.
    """

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    probe_sqlite(_url(engine))
    with opening(_url(engine)):
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade)
            await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None when never migrated).

    Raises:
        StorageError: the database cannot be opened or reached.
    """

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    probe_sqlite(_url(engine))
    with opening(_url(engine)):
        async with engine.connect() as connection:
            return await connection.run_sync(_current)


def _url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


async def readiness_problem(engine: AsyncEngine, timeout_s: float = 5.0) -> str | None:
    """Why the service cannot take traffic on this database, or None when it can: the
    database answers within ``timeout_s`` and is migrated to this version's head."""
    try:
        async with asyncio.timeout(timeout_s):
            revision = await current_revision(engine)
    except (SQLAlchemyError, OSError) as exc:  # TimeoutError is an OSError
        return f"database unreachable ({type(exc).__name__})"
    except StorageError as exc:  # current_revision's translation of the driver's error
        return f"database unreachable ({type(exc.__cause__ or exc).__name__})"
    head = head_revision()
    if revision != head:
        return (
            f"database at migration {revision or 'none'}, this version needs {head}: "
            "run `shopify-sync db upgrade`"
        )
    return None
