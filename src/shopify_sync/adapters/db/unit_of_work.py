"""Adapter: one database transaction per unit of work; driver errors become StorageError
(``StorageRejected`` for a value the database refuses, see ``failure``).

On SQLite the units of work of one process take turns (an asyncio lock per engine): every
transaction there starts with ``BEGIN IMMEDIATE``, so concurrent ones would otherwise
wait for each other inside SQLite's busy handler, which sleeps in steps of up to 100 ms.
Under a burst of webhooks that turned a few milliseconds of work into seconds of waiting.
Other processes writing the same file still queue in the busy handler.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shopify_sync.adapters.db.access import SqlAccessRepository
from shopify_sync.adapters.db.failure import OPEN_ERRORS, translated, unavailable
from shopify_sync.adapters.db.history import SqlAlertStateRepository, SqlHistoryRepository
from shopify_sync.adapters.db.records import (
    SqlLeaseRepository,
    SqlLogRepository,
    SqlOutboundWriteRepository,
    SqlSyncRunRepository,
    SqlWebhookEventRepository,
)
from shopify_sync.adapters.db.repository import SqlProductRepository


class SqlUnitOfWork:
    """A transaction on one pooled connection, with every repository bound to it."""

    products: SqlProductRepository
    log: SqlLogRepository
    webhooks: SqlWebhookEventRepository
    writes: SqlOutboundWriteRepository
    runs: SqlSyncRunRepository
    leases: SqlLeaseRepository
    history: SqlHistoryRepository
    alerts: SqlAlertStateRepository
    access: SqlAccessRepository

    def __init__(self, engine: AsyncEngine, turn: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._turn = turn
        self._holding = False
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        if self._turn is not None:
            await self._turn.acquire()
            self._holding = True
        try:
            self._connection = await self._engine.connect()
            self._transaction = await self._connection.begin()
        except OPEN_ERRORS as exc:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
            self._release_turn()
            raise unavailable(self._engine.url.render_as_string(hide_password=False), exc) from exc
        except BaseException:
            self._release_turn()
            raise
        connection = self._connection
        self.products = SqlProductRepository(connection)
        self.log = SqlLogRepository(connection)
        self.webhooks = SqlWebhookEventRepository(connection)
        self.writes = SqlOutboundWriteRepository(connection)
        self.runs = SqlSyncRunRepository(connection)
        self.leases = SqlLeaseRepository(connection)
        self.access = SqlAccessRepository(connection)
        self.history = SqlHistoryRepository(connection)
        self.alerts = SqlAlertStateRepository(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            try:
                if self._connection is not None:
                    await self._connection.close()
            finally:
                self._connection = None
                self._transaction = None
                self._release_turn()
        # A raw OverflowError is a value too large for the driver (sqlite3's integers,
        # a date beyond year 9999 once moved to UTC): refused, like the DB-API errors.
        if isinstance(exc, StatementError | OverflowError):
            raise translated(exc) from exc

    async def commit(self) -> None:
        """Make the transaction's writes durable."""
        assert self._transaction is not None, "commit() outside 'async with'"
        try:
            await self._transaction.commit()
        except StatementError as exc:
            raise translated(exc, "database error on commit") from exc

    def _release_turn(self) -> None:
        if self._turn is not None and self._holding:
            self._holding = False
            self._turn.release()

    async def rollback(self) -> None:
        """Throw the transaction's writes away."""
        if self._transaction is not None and self._transaction.is_active:
            await self._transaction.rollback()


class SqlUnitOfWorkFactory:
    """Builds a :class:`SqlUnitOfWork` per use over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        """On SQLite, held by whichever transaction of this process has its turn."""

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.turn)
