"""Adapter: ``metric_intervals``, the dashboard's per-interval figures, and
``alert_states``, the alert conditions last notified as on.

Every process adds its own counts to the same rows with one upsert per flush
(``INSERT ... ON CONFLICT DO UPDATE``, on SQLite and PostgreSQL alike), so no process
overwrites another's figures and the charts show the whole service.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.tables import alert_states
from shopify_sync.adapters.db.tables import metric_intervals as m


class SqlHistoryRepository:
    """Implements ``HistoryRepository`` on one connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(
        self,
        sums: Mapping[tuple[datetime, str], float],
        maxima: Mapping[tuple[datetime, str], float],
    ) -> None:
        """Add ``sums`` to each (interval, figure) and raise it to ``maxima``; rows are
        written in key order, so concurrent flushes of two processes lock them alike."""
        build = pg_insert if self._c.dialect.name == "postgresql" else sqlite_insert
        for values, merged in ((sums, "sum"), (maxima, "max")):
            if not values:
                continue
            statement: Any = build(m)
            incoming = statement.excluded.value
            statement = statement.on_conflict_do_update(
                index_elements=[m.c.bucket_start, m.c.name],
                set_={
                    "value": m.c.value + incoming
                    if merged == "sum"
                    else case((incoming > m.c.value, incoming), else_=m.c.value)
                },
            )
            rows = [
                {"bucket_start": start, "name": name, "value": float(value)}
                for (start, name), value in sorted(values.items())
            ]
            await self._c.execute(statement, rows)

    async def since(self, start: datetime) -> list[tuple[datetime, str, float]]:
        """Every (interval start, figure, value) from ``start`` on, oldest first."""
        rows = await self._c.execute(
            select(m.c.bucket_start, m.c.name, m.c.value)
            .where(m.c.bucket_start >= start)
            .order_by(m.c.bucket_start, m.c.name)
        )
        return [(row[0], str(row[1]), float(row[2])) for row in rows]

    async def prune(self, older_than: datetime) -> int:
        """Forget intervals that began before ``older_than``."""
        result = await self._c.execute(delete(m).where(m.c.bucket_start < older_than))
        return int(result.rowcount or 0)


class SqlAlertStateRepository:
    """Implements ``AlertStateRepository`` on one connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def notified(self) -> dict[str, str]:
        """Condition -> message, for the conditions last notified as on."""
        rows = await self._c.execute(select(alert_states.c.condition, alert_states.c.message))
        return {str(condition): str(message) for condition, message in rows}

    async def started(self, condition: str, message: str, now: datetime) -> None:
        """Record that ``condition`` was notified as on (again: its message is updated)."""
        await self._c.execute(delete(alert_states).where(alert_states.c.condition == condition))
        await self._c.execute(
            insert(alert_states).values(condition=condition, message=message, since=now)
        )

    async def cleared(self, condition: str) -> None:
        """Record that ``condition`` was notified as cleared."""
        await self._c.execute(delete(alert_states).where(alert_states.c.condition == condition))
