"""Fixtures shared by every layer: the async backend, databases on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.migrate import upgrade_engine

DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.fixture(name="anyio_backend", scope="session")
def _anyio_backend() -> str:
    return "asyncio"


def postgres_url() -> str:
    """The PostgreSQL the tests use (TEST_DATABASE_URL, or the local one)."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


_postgres_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers; otherwise why not (checked once per session)."""
    if "reason" not in _postgres_state:

        async def probe() -> None:
            engine = create_async_engine(postgres_url())
            try:
                async with engine.connect():
                    pass
            finally:
                await engine.dispose()

        try:
            asyncio.run(asyncio.wait_for(probe(), timeout=5))
            _postgres_state["reason"] = None
        except Exception as exc:  # any failure to connect means "unavailable"
            _postgres_state["reason"] = f"{type(exc).__name__}: {exc}"
    return _postgres_state["reason"]


def require_postgres() -> None:
    """Skip (locally) or fail (CI=true) when PostgreSQL cannot be reached."""
    reason = postgres_unavailable()
    if reason is None:
        return
    message = f"PostgreSQL at {postgres_url()} unreachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(message + "; set TEST_DATABASE_URL to run these tests")


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = postgres_url()

    async def admin(sql: str) -> None:
        engine = create_async_engine(base)
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    asyncio.run(admin(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}search_path={schema}"
    finally:
        asyncio.run(admin(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(
    name="database_url", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def _database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(name="postgres_database_url")
def _postgres_database_url() -> Iterator[str]:
    """An empty PostgreSQL schema."""
    with postgres_schema() as url:
        yield url


@contextlib.asynccontextmanager
async def migrated_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the database at ``url``, migrated to head; disposed afterwards."""
    engine = create_engine(url)
    await upgrade_engine(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(name="engine")
async def _engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database on each backend."""
    async with migrated_engine(database_url) as engine:
        yield engine


@pytest.fixture(name="pg_engine")
async def _pg_engine(postgres_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated PostgreSQL schema."""
    async with migrated_engine(postgres_database_url) as engine:
        yield engine


def pytest_report_header() -> str:
    """The fuzzers' seed, so that a failing run can be replayed with FUZZ_SEED."""
    from tests.fuzzing import FUZZ_SEED, LONG

    length = "long (FUZZ_LONG)" if LONG else "short"
    return f"fuzz seed: {FUZZ_SEED} (replay with FUZZ_SEED={FUZZ_SEED}), {length} run"


CHROMIUM_MISSING = "Chromium not found"
"""How a browser test's skip reason starts when there is no Chromium (tests/e2e)."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Browser tests skipped for want of Chromium are said at the end of the run, after the
    short summary, not only in one skip line each among the others."""
    yield
    reasons = [
        report.longrepr[2]
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and CHROMIUM_MISSING in report.longrepr[2]
    ]
    if reasons:
        reason = reasons[0].removeprefix("Skipped: ")
        terminalreporter.write_sep("=", "browser tests not run", yellow=True)
        terminalreporter.write_line(
            f"{len(reasons)} browser test(s) skipped: {reason}; "
            "install it or set CHROMIUM to a Chromium binary to run them"
        )
