"""Adapter: what a database exception means, decided in one place.

A value the database (or its driver) refuses, out of a column's range, too long, a NUL
in a text, a broken constraint, is the request's fault: ``StorageRejected`` (a 400, exit
code 2). Anything else is the database failing: ``StorageError`` (a 503, exit code 5).
Nothing from ``sqlite3``, ``asyncpg`` or SQLAlchemy leaves an adapter untranslated.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DataError as SqlDataError
from sqlalchemy.exc import DBAPIError, StatementError
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
