"""Adapter: the admin page's sessions and failed sign-ins (``admin_sessions``,
``sign_in_failures``), the same on SQLite and PostgreSQL.

A failure is counted with one upsert, so two processes counting the same address at once
both count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.tables import admin_sessions, sign_in_failures
from shopify_sync.services.ports import SignInFailures

t = sign_in_failures
s = admin_sessions


class SqlAccessRepository:
    """Sessions and the sign-in throttle's counts, on one transaction's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def failures(self, client: str) -> SignInFailures | None:
        """The address's failed sign-ins, or None."""
        query = select(t.c.failures, t.c.last_failed_at, t.c.blocked_until)
        row = (await self._c.execute(query.where(t.c.client == client))).first()
        return None if row is None else SignInFailures(row[0], row[1], row[2])

    async def failures_since(self, start: datetime) -> int:
        """Failed sign-ins of every address whose last failure is at or after ``start``."""
        query = select(func.coalesce(func.sum(t.c.failures), 0)).where(t.c.last_failed_at >= start)
        return int((await self._c.execute(query)).scalar_one())

    async def record_failure(self, client: str, now: datetime, delay: timedelta) -> int:
        """Count one more failure, blocked until ``now + delay``; returns the new count."""
        build = pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert
        values = {"client": client, "failures": 1, "last_failed_at": now,
                  "blocked_until": now + delay}  # fmt: skip
        upsert = build(t).values(**values).on_conflict_do_update(
            index_elements=[t.c.client],
            set_={"failures": t.c.failures + 1, "last_failed_at": now,
                  "blocked_until": now + delay},
        )  # fmt: skip
        statement = upsert.returning(t.c.failures)
        return int((await self._c.execute(statement)).scalar_one())

    async def clear_failures(self, client: str) -> None:
        """Forget the address's failures."""
        await self._c.execute(delete(t).where(t.c.client == client))

    async def prune_failures(self, older_than: datetime) -> None:
        """Forget addresses whose last failure is older than ``older_than``."""
        await self._c.execute(delete(t).where(t.c.last_failed_at < older_than))

    async def open_session(self, session_hash: str, now: datetime) -> None:
        """Record a new session."""
        await self._c.execute(
            insert(s).values(session_hash=session_hash, created_at=now, last_seen_at=now)
        )

    async def touch_session(self, session_hash: str, now: datetime, idle_since: datetime) -> bool:
        """Mark the session used now; False when it ended or idled out."""
        result = await self._c.execute(
            update(s)
            .where(s.c.session_hash == session_hash, s.c.last_seen_at >= idle_since)
            .values(last_seen_at=now)
        )
        return result.rowcount == 1

    async def close_session(self, session_hash: str) -> None:
        """End the session."""
        await self._c.execute(delete(s).where(s.c.session_hash == session_hash))

    async def prune_sessions(self, idle_since: datetime) -> None:
        """Remove sessions unused since before ``idle_since``."""
        await self._c.execute(delete(s).where(s.c.last_seen_at < idle_since))
