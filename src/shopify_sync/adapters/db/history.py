"""Adapter: ``metric_intervals``, the dashboard's per-interval figures, and
``alert_states``, the alert conditions each channel was last told are on.

Every process adds its own counts to the same rows with one upsert per flush
(``INSERT ... ON CONFLICT DO UPDATE``, on SQLite and PostgreSQL alike), so no process
overwrites another's figures and the charts show the whole service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    async def notified(self) -> dict[str, dict[str, str]]:
        """Channel -> condition -> message, for what each channel was last told is on."""
        rows = await self._c.execute(
            select(alert_states.c.channel, alert_states.c.condition, alert_states.c.message)
        )
        found: dict[str, dict[str, str]] = {}
        for channel, condition, message in rows:
            found.setdefault(str(channel), {})[str(condition)] = str(message)
        return found

    async def started(self, condition: str, channel: str, message: str, now: datetime) -> None:
        """Record that ``channel`` was told ``condition`` is on (again: the message is
        updated)."""
        await self.cleared(condition, channel)
        await self._c.execute(
            insert(alert_states).values(
                condition=condition, channel=channel, message=message, since=now
            )
        )

    async def cleared(self, condition: str, channel: str) -> None:
        """Record that ``channel`` was told ``condition`` cleared."""
        await self._c.execute(
            delete(alert_states).where(
                alert_states.c.condition == condition, alert_states.c.channel == channel
            )
        )

    async def spread(self, channels: Sequence[str]) -> None:
        """Replace the rows of every channel (``''``, from before channels were told apart)
        by one row per channel in ``channels``, where that channel has none of its own."""
        legacy = (
            (await self._c.execute(select(alert_states).where(alert_states.c.channel == "")))
            .mappings()
            .all()
        )
        if not legacy:
            return
        own = await self.notified()
        rows = [
            {**row, "channel": channel}
            for channel in channels
            for row in legacy
            if row["condition"] not in own.get(channel, {})
        ]
        await self._c.execute(delete(alert_states).where(alert_states.c.channel == ""))
        if rows:
            await self._c.execute(insert(alert_states), rows)
