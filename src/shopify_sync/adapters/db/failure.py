"""Adapter: what a database exception means, decided in one place.

A value the database (or its driver) refuses, out of a column's range, too long, a NUL
in a text, a broken constraint, is the request's fault: ``StorageRejected`` (a 400, exit
code 2). Anything else is the database failing: ``StorageError`` (a 503, exit code 5).
Nothing from ``sqlite3``, ``asyncpg`` or SQLAlchemy leaves an adapter untranslated.

A database that cannot be opened or reached at all is one line naming it (its URL without
the password), what went wrong in a few words and what to check (:func:`unavailable`).
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, StatementError
from sqlalchemy.exc import DataError as SqlDataError
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from shopify_sync.errors import StorageError, StorageRejected

_REFUSED_SQLSTATE_CLASSES = ("22", "23")
"""PostgreSQL's classes "data exception" and "integrity constraint violation"."""


def refused(exc: BaseException) -> bool:
    """True when ``exc`` says a value was refused rather than the database failing."""
    if isinstance(exc, SqlDataError | SqlIntegrityError):
        return True
    if isinstance(exc, StatementError):
        # SQLAlchemy's wrapper: judge what it wraps (the driver's, or a bind processor's).
        inner = exc.orig
        return inner is not None and inner is not exc and refused(_cause(inner))
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | OverflowError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "")[:2] in _REFUSED_SQLSTATE_CLASSES
    # asyncpg refuses some arguments before sending them (an int beyond int4):
    # its client-side DataError is both an InterfaceError and a ValueError.
    return isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError)


def translated(exc: BaseException, doing: str = "database error") -> StorageError:
    """``exc`` as our error: ``StorageRejected`` for a refused value, else ``StorageError``."""
    if refused(exc):
        return StorageRejected(f"the database refused a value: {brief(exc)}")
    return StorageError(f"{doing}: {brief(exc)}")


def brief(exc: BaseException) -> str:
    """The first line of what the driver said, at most 300 characters."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).splitlines()[0] if str(inner) else type(inner).__name__
    return text[:300]


def _cause(exc: BaseException) -> BaseException:
    """The driver's own exception behind a DB-API adapter's (SQLAlchemy's asyncpg shim)."""
    if isinstance(exc, DBAPIError | StatementError):
        return exc
    cause = exc.__cause__
    return cause if cause is not None and not isinstance(exc, sqlite3.Error) else exc


OPEN_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
    OSError,
)
"""What opening a connection raises when the database cannot be opened or reached."""


def shown(url: str) -> str:
    """The URL as it may be shown: no password, no async driver name."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(an unreadable DATABASE_URL)"
    backend = parsed.get_backend_name()
    return parsed.set(drivername=backend).render_as_string(hide_password=True)


def unavailable(url: str, exc: BaseException) -> StorageError:
    """The one-line error for the database at ``url`` that ``exc`` could not open."""
    return StorageError(f"cannot open the database {shown(url)}: {_reason(url, exc)}")


@contextmanager
def opening(url: str) -> Iterator[None]:
    """Translate a failure to open or reach the database at ``url`` into :func:`unavailable`."""
    try:
        yield
    except OPEN_ERRORS as exc:
        raise unavailable(url, exc) from exc


def probe_sqlite(url: str) -> None:
    """Open a SQLite database file once, synchronously, creating it if need be.

    aiosqlite's worker thread outlives a failed open and then trips over the closed event
    loop with a traceback of its own; a file that cannot be opened is found here first.

    Raises:
        StorageError: the file cannot be created or opened, or is not a database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    with opening(url), closing(sqlite3.connect(str(parsed.database))) as db:
        db.execute("PRAGMA schema_version")


def _reason(url: str, exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    cause = inner.__cause__ or inner
    text = brief(exc)
    if url.startswith("sqlite"):
        if "unable to open" in text:
            return (
                "SQLite cannot create or open that file; check DATABASE_URL (the folder must "
                "exist and be writable)"
            )
        return f"{text}; check DATABASE_URL"
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in text:
        return "connection refused; check DATABASE_URL's host and port, and that PostgreSQL runs"
    if isinstance(cause, TimeoutError):
        return "no answer in time; check DATABASE_URL's host and port, and the network"
    if isinstance(cause, socket.gaierror):
        return "host name not found; check DATABASE_URL's host"
    if "does not exist" in text and "database" in text:
        return f"{text}; create it (createdb) or fix DATABASE_URL"
    if "password" in text or "authentication" in text:
        return f"{text}; check the user and password in DATABASE_URL"
    return f"{text}; check DATABASE_URL"
