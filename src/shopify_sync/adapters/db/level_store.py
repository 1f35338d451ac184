"""Adapter: the webhook hot path, a batch of ``inventory_levels/update`` per transaction.

The statements (``level_statements``) are SQLAlchemy Core, compiled once per dialect (the
compare-and-set is the repository's own, ``inbound_cas``), and run on the driver's
connection. Going through SQLAlchemy's async execution costs 140 µs (asyncpg) to 250 µs
(aiosqlite) of CPU per statement against 5 to 50 µs on the driver (measured with this
schema), which bounded webhook ingest at a few hundred deliveries a second.

- SQLite: the whole batch (``BEGIN IMMEDIATE``, reads, plan, writes, ``COMMIT``) runs in
  one call on a connection of its own, on the event loop unless another process holds
  the write lock (:class:`SqliteLevelStore`); the process's turn lock keeps it in line
  with the other transactions.
- PostgreSQL: asyncpg connections of the store's own, one per batch in flight, and two
  statements per batch whatever its size, with no transaction around them: one reads the
  products and the events already recorded, locking nothing; one writes every change
  (``UPDATE ... FROM unnest``), event record and re-read request, compare-and-set on all
  the read gave the plan, and fails as a whole (rolled back) unless every one landed.
  That failure means another process moved a row or recorded one of the deliveries in
  between (a racing duplicate); the batch is then read again ``FOR UPDATE`` (in id
  order) and written in a transaction, where it cannot be overtaken. A batch that
  changes a product twice takes that locked path at once. Against the locked path for
  every batch, this saves two round trips (``BEGIN``, ``COMMIT``) and the row locks'
  WAL records.

Every write is checked: a compare-and-set or event insert that did not land raises
:class:`WriteConflict` after a rollback, and the caller re-plans the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import structlog
from sqlalchemy import Dialect

from shopify_sync.adapters.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    asyncpg_connect_args,
    configure_sqlite,
)
from shopify_sync.adapters.db.failure import refused, translated
from shopify_sync.adapters.db.level_statements import (
    EVENT_VALUES,
    WRITE_COLUMNS,
    CompiledStatement,
    LevelStatements,
    conflict,
    event_params,
    level_view,
    target_of,
    write_params,
)
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.commands import ApplyInventoryLevel
from shopify_sync.domain.inbound import LevelPlan, LevelView
from shopify_sync.domain.model import PulledChange
from shopify_sync.errors import StorageError, WriteConflict
from shopify_sync.services.ports import LevelStore

log = structlog.get_logger(__name__)

Plan = Callable[[LevelView], LevelPlan]


def create_level_store(uow: SqlUnitOfWorkFactory, database_url: str) -> LevelStore:
    """The level store for the database at ``database_url``, which ``uow`` works on."""
    engine = uow.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            raise StorageError("SQLite needs a database file (an in-memory database is private)")
        assert uow.turn is not None
        return SqliteLevelStore(path, engine.dialect, uow.turn)
    return PostgresLevelStore(database_url, engine.dialect)


CHECKPOINT_EVERY = 128
"""Batches between two WAL checkpoints, which the thread runs (the loop never does).
Measured at about 6,000 deliveries/s, against never checkpointing: 32 kept the WAL at
3 MB for 9% of the throughput, 128 keeps it at 11 MB for 4%, 512 at 42 MB for no less."""

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Busy(Exception):
    """The write lock is held by another process; wait for it on the thread."""


class SqliteLevelStore:
    """Batches on connections of their own (see the module docstring).

    A batch runs on the event loop itself: it costs 0.1 to 0.3 ms of CPU and never waits
    (its connection's busy timeout is 0 and it never checkpoints), so the loop is held
    no longer than by any other handler, and the hand-over to a thread (a third of the
    cost of a delivery) is saved. When another process holds the write lock, the batch
    goes to a thread whose connection waits for it. That thread also runs the WAL
    checkpoints, every ``CHECKPOINT_EVERY`` batches, holding the process's turn so that
    they complete and the WAL file is reused (about 10 MB under a steady stream).
    """

    parallel_batches = 1
    """SQLite has one writer at a time."""

    def __init__(self, path: str, dialect: Dialect, turn: asyncio.Lock) -> None:
        self._path = path
        self._turn = turn
        self._sql = LevelStatements.for_sqlite(dialect)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-levels")
        self._on_loop: sqlite3.Connection | None = None
        self._waiting: sqlite3.Connection | None = None
        self._batches = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def apply_levels(self, cmds: Sequence[ApplyInventoryLevel], plan: Plan) -> LevelPlan:
        """See :class:`LevelStore`."""
        loop = asyncio.get_running_loop()
        async with self._turn:
            try:
                result = self._apply(self._loop_connection(), cmds, plan, busy=_Busy)
            except _Busy:
                result = await loop.run_in_executor(self._thread, self._apply_waiting, cmds, plan)
        self._batches += 1
        if self._batches % CHECKPOINT_EVERY == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._checkpoint = asyncio.create_task(self._checkpoint_in_turn())
        return result

    async def _checkpoint_in_turn(self) -> None:
        """Checkpoint on the thread while this process writes nothing else: a checkpoint
        racing the batches never catches up, and the WAL then grows without bound."""
        async with self._turn:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint_wal)

    async def aclose(self) -> None:
        """Close both connections, each on its own thread, then the thread."""
        if self._checkpoint is not None:
            await self._checkpoint
        if self._on_loop is not None:
            self._on_loop.close()
            self._on_loop = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close_waiting)
        self._thread.shutdown(wait=True)

    def _loop_connection(self) -> sqlite3.Connection:
        if self._on_loop is None:
            connection = self._open(timeout_s=0)
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._on_loop = connection
        return self._on_loop

    def _waiting_connection(self) -> sqlite3.Connection:
        if self._waiting is None:
            self._waiting = self._open(timeout_s=SQLITE_BUSY_TIMEOUT_MS / 1000)
        return self._waiting

    def _open(self, *, timeout_s: float) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self._path, timeout=timeout_s)
            configure_sqlite(connection)
        except sqlite3.Error as exc:
            raise StorageError(f"database unavailable: {exc}") from exc
        return connection

    def _apply_waiting(self, cmds: Sequence[ApplyInventoryLevel], plan: Plan) -> LevelPlan:
        return self._apply(self._waiting_connection(), cmds, plan, busy=StorageError)

    def _checkpoint_wal(self) -> None:
        try:
            self._waiting_connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except (sqlite3.Error, StorageError) as exc:
            log.warning("WAL checkpoint failed; the next one retries", error=str(exc))

    def _close_waiting(self) -> None:
        if self._waiting is not None:
            self._waiting.close()
            self._waiting = None

    def _apply(
        self,
        connection: sqlite3.Connection,
        cmds: Sequence[ApplyInventoryLevel],
        plan: Plan,
        *,
        busy: type[Exception],
    ) -> LevelPlan:
        try:
            connection.execute("BEGIN IMMEDIATE")
            result = self._write(connection, plan(self._read(connection, cmds)))
            connection.execute("COMMIT")
            return result
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY:
                raise busy(f"database is locked: {exc}") from exc
            raise StorageError(f"database error: {exc}") from exc
        except (sqlite3.Error, OverflowError) as exc:  # OverflowError: an int beyond 64 bits
            raise translated(exc) from exc
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def _read(
        self, connection: sqlite3.Connection, cmds: Sequence[ApplyInventoryLevel]
    ) -> LevelView:
        sql = self._sql
        items = json.dumps(sorted({int(cmd.inventory_item_id) for cmd in cmds}))
        rows = connection.execute(sql.read.sql, sql.read.params({"items": items}))
        targets = [target_of(m) for m in sql.read.rows(rows)]
        params = {
            "event_ids": json.dumps([cmd.meta.event_id for cmd in cmds]),
            "webhook_ids": json.dumps([c.meta.webhook_id for c in cmds if c.meta.webhook_id]),
        }
        assert sql.seen is not None
        seen = connection.execute(sql.seen.sql, sql.seen.params(params))
        return level_view(seen, targets)

    def _write(self, connection: sqlite3.Connection, result: LevelPlan) -> LevelPlan:
        sql = self._sql
        if result.writes:
            rows = [sql.apply.params(write_params(w, result.now)) for w in result.writes]
            landed = connection.executemany(sql.apply.sql, rows).rowcount
            if landed != len(rows):
                raise conflict("stock changes", landed, len(rows))
        if result.refresh:
            assert sql.refresh is not None
            connection.executemany(
                sql.refresh.sql,
                [sql.refresh.params({"product_id": p, "now": result.now}) for p in result.refresh],
            )
        if result.events:
            rows = [sql.record.params(event_params(e)) for e in result.events]
            landed = connection.executemany(sql.record.sql, rows).rowcount
            if landed != len(rows):
                raise conflict("event records", landed, len(rows))
        return result


_CONNECTION_ERRORS = (
    asyncpg.PostgresConnectionError,  # the connection is gone
    asyncpg.OperatorInterventionError,  # the server shuts down or restarts
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a dropped connection's protocol state, seen on the next use
    OSError,
)


class _ConnectionLost(Exception):
    """The batch's connection died; the batch may run again (de-duplication covers a
    commit whose answer was lost)."""


PARALLEL_BATCHES = 4
"""Batches in flight at once on PostgreSQL: while one waits for its commit to reach the
disk the next ones run, and their commits share the flush. Their products are locked in
id order, so they queue behind each other on a shared product instead of deadlocking."""


class PostgresLevelStore:
    """Batches on asyncpg connections of their own, one per batch in flight, kept open
    between batches (see the module docstring)."""

    parallel_batches = PARALLEL_BATCHES

    def __init__(self, url: str, dialect: Dialect) -> None:
        args = asyncpg_connect_args(url)
        # Every statement here looks rows up by key in a handful of values. Without fresh
        # statistics (a young or fast-growing webhook_events) the planner took a sequential
        # scan, 0.7 ms at 3,000 events and growing; these connections never want one.
        # Nor a plan per execution: PostgreSQL re-plans a prepared statement for as long
        # as that looks cheaper than its generic plan, which for batches of one or two
        # deliveries it did every time, 0.5 ms of planning for a 0.9 ms batch.
        args["server_settings"] = {
            **args.get("server_settings", {}),
            "enable_seqscan": "off",
            "plan_cache_mode": "force_generic_plan",
        }
        self._connect_args = args
        self._sql = LevelStatements.for_postgres(dialect)
        assert self._sql.peek is not None
        self._peek: CompiledStatement = self._sql.peek
        self._idle: list[asyncpg.Connection] = []

    async def apply_levels(self, cmds: Sequence[ApplyInventoryLevel], plan: Plan) -> LevelPlan:
        """See :class:`LevelStore`. A kept connection found dead (the server restarted)
        is dropped with the other idle ones and the batch runs once more on a new one;
        nothing of it was committed, or if the commit's answer was lost the re-read sees
        its events recorded."""
        connection, kept = await self._checkout()
        try:
            return await self._apply(connection, cmds, plan)
        except _ConnectionLost as lost:
            self._drop_idle()
            if not kept:
                raise StorageError(f"database connection lost: {lost}") from lost.__cause__
        connection, _ = await self._checkout()
        try:
            return await self._apply(connection, cmds, plan)
        except _ConnectionLost as lost:
            raise StorageError(f"database connection lost: {lost}") from lost.__cause__

    async def _apply(
        self, connection: asyncpg.Connection, cmds: Sequence[ApplyInventoryLevel], plan: Plan
    ) -> LevelPlan:
        try:
            result = await self._apply_unlocked(connection, cmds, plan)
            if result is None:
                async with connection.transaction():
                    view = await self._read(connection, self._sql.read, cmds)
                    result = await self._write(connection, plan(view))
        except (asyncpg.InterfaceError, OverflowError) as exc:
            if not refused(exc):
                connection.terminate()
                raise _ConnectionLost(_first_line(exc)) from exc
            # Refused before it was sent (asyncpg's client-side checks): the connection is fine.
            self._check_in(connection)
            raise translated(exc) from exc
        except _CONNECTION_ERRORS as exc:
            connection.terminate()
            raise _ConnectionLost(_first_line(exc)) from exc
        except asyncio.CancelledError:
            connection.terminate()  # cancelled mid-statement: its state is unknown
            raise
        except BaseException as exc:
            self._check_in(connection)
            if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
                raise WriteConflict(f"transaction conflict: {_first_line(exc)}") from exc
            if isinstance(exc, asyncpg.PostgresError):
                raise translated(exc) from exc
            raise
        self._check_in(connection)
        return result

    async def _apply_unlocked(
        self, connection: asyncpg.Connection, cmds: Sequence[ApplyInventoryLevel], plan: Plan
    ) -> LevelPlan | None:
        """The batch in two statements and no transaction around them: a read that locks
        nothing, then the write, which compare-and-sets on all the read gave the plan and
        fails as a whole unless everything landed. None when the batch must run locked: a
        product the plan changes twice or also asks to re-read (one statement changes a
        row once), or a write that conflicted (another process moved a row meanwhile)."""
        result = plan(await self._read(connection, self._peek, cmds))
        if not _one_statement(result):
            return None
        try:
            return await self._write(connection, result)
        except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as exc:
            log.debug("webhook batch re-read under locks", reason=_first_line(exc))
            return None

    def _check_in(self, connection: asyncpg.Connection) -> None:
        if connection.is_closed():
            connection.terminate()
        else:
            self._idle.append(connection)

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.terminate()

    async def aclose(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(asyncpg.InterfaceError, OSError):
                await connection.close(timeout=5)

    async def _checkout(self) -> tuple[asyncpg.Connection, bool]:
        """A kept connection (True) or a new one (False)."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection, True
        try:
            return await asyncpg.connect(**self._connect_args), False
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StorageError(f"database unavailable: {_first_line(exc)}") from exc

    async def _read(
        self,
        connection: asyncpg.Connection,
        sql: CompiledStatement,
        cmds: Sequence[ApplyInventoryLevel],
    ) -> LevelView:
        params = {
            "items": sorted({int(cmd.inventory_item_id) for cmd in cmds}),
            "event_ids": [cmd.meta.event_id for cmd in cmds],
            "webhook_ids": [cmd.meta.webhook_id for cmd in cmds if cmd.meta.webhook_id],
        }
        rows = sql.rows(await connection.fetch(sql.sql, *sql.params(params)))
        targets = [target_of(m) for m in rows if m["kind"] == "p"]
        # Event rows carry the event id in product_id and the delivery id in push_key.
        seen = [(m["product_id"], m["push_key"]) for m in rows if m["kind"] == "e"]
        return level_view(seen, targets)

    async def _write(self, connection: asyncpg.Connection, result: LevelPlan) -> LevelPlan:
        """Every change, event record and re-read request. Raises SerializationError (the
        statement, rolled back) unless all landed; WriteConflict when a change made on its
        own did not."""
        sql = self._sql
        # In product id order: concurrent batches then lock shared rows in the same order.
        writes: list[PulledChange] = sorted(result.writes, key=lambda w: w.product_id)
        if not _one_statement(result):
            # A product changed twice or changed and asked to re-read (in a transaction):
            # one statement changes a row once, so one statement per change, in delivery
            # order, before the rest.
            rows = [sql.apply.params(write_params(w, result.now)) for w in result.writes]
            landed = len(await connection.fetchmany(sql.apply.sql, rows))
            if landed != len(rows):
                raise conflict("stock changes", landed, len(rows))
            writes = []
        params: dict[str, Any] = {
            "now": result.now,
            "writes": len(writes),
            "records": len(result.events),
            "refresh": list(result.refresh),
        }
        changes = [write_params(w, result.now) for w in writes]
        for column, _ in WRITE_COLUMNS:
            params[f"w_{column}"] = [change[column] for change in changes]
        for column in EVENT_VALUES:
            params[f"e_{column}"] = [getattr(e, column) for e in result.events]
        await connection.fetchrow(sql.record.sql, *sql.record.params(params))
        return result


def _one_statement(plan: LevelPlan) -> bool:
    """Whether one statement can write ``plan``: it changes a row once, so no product may
    be changed twice, or changed and asked to re-read."""
    changed = {w.product_id for w in plan.writes}
    return len(changed) == len(plan.writes) and changed.isdisjoint(plan.refresh)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return text.splitlines()[0][:300]
