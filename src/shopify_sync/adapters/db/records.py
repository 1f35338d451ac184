"""Adapter: the append-only records beside the products: audit log, webhook events,
writes in flight, sync runs and leases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, desc, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.tables import (
    inventory_sync_log,
    leases,
    outbound_writes,
    sync_runs,
    webhook_events,
    webhook_refusals,
)
from shopify_sync.domain.model import (
    LogEntry,
    LogRecord,
    QuantityWrite,
    SetQuantities,
    SyncRun,
    WebhookEvent,
    WebhookRefusals,
)
from shopify_sync.types import InventoryItemId, ProductId


def _log_entry(row: Row[Any]) -> LogEntry:
    m = row._mapping
    return LogEntry(
        id=m["id"],
        product_id=ProductId(m["product_id"]),
        direction=m["direction"],
        source=m["source"],
        field=m["field"],
        old_value=m["old_value"],
        new_value=m["new_value"],
        delta=m["delta"],
        reference=m["reference"],
        detail=m["detail"],
        created_at=m["created_at"],
    )


class SqlLogRepository:
    """The audit trail. Changes of our stock columns are logged by the database triggers;
    this adds the rows no column change carries (pushes to Shopify, sales seen in orders)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, records: Sequence[LogRecord], now: datetime) -> None:
        """Append rows."""
        if records:
            await self._c.execute(
                insert(inventory_sync_log),
                [
                    {
                        "product_id": r.product_id,
                        "direction": r.direction,
                        "source": r.source,
                        "field": r.field,
                        "old_value": r.old_value,
                        "new_value": r.new_value,
                        "delta": r.delta,
                        "reference": r.reference,
                        "detail": r.detail,
                        "created_at": now,
                    }
                    for r in records
                ],
            )

    async def recent(
        self, *, product_id: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[LogEntry]:
        """The newest rows first, optionally for one product."""
        query = select(inventory_sync_log).order_by(desc(inventory_sync_log.c.id)).limit(limit)
        if product_id is not None:
            query = query.where(inventory_sync_log.c.product_id == product_id)
        if before_id is not None:
            query = query.where(inventory_sync_log.c.id < before_id)
        return [_log_entry(r) for r in await self._c.execute(query)]

    async def latest(
        self, product_id: str, *, direction: str | None = None, source_prefix: str | None = None
    ) -> LogEntry | None:
        """The product's newest row, optionally of one direction or source family."""
        log = inventory_sync_log
        query = select(log).where(log.c.product_id == product_id).order_by(desc(log.c.id)).limit(1)
        if direction is not None:
            query = query.where(log.c.direction == direction)
        if source_prefix is not None:
            query = query.where(log.c.source.startswith(source_prefix, autoescape=True))
        row = (await self._c.execute(query)).first()
        return None if row is None else _log_entry(row)


class SqlWebhookEventRepository:
    """``webhook_events``: one row per delivered event, the de-duplication key."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def seen(self, event_id: str, webhook_id: str | None) -> bool:
        """True when this event (or this delivery) was recorded before."""
        condition = webhook_events.c.event_id == event_id
        if webhook_id:
            condition = or_(condition, webhook_events.c.webhook_id == webhook_id)
        query = select(webhook_events.c.event_id).where(condition).limit(1)
        return (await self._c.execute(query)).first() is not None

    async def record(self, event: WebhookEvent) -> bool:
        """Insert the event; False when another transaction recorded it first (a duplicate).

        ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL) instead of a savepoint around a
        plain insert: the same answer in one statement on the webhook's hot path.
        """
        dialect_insert = sqlite_insert if self._c.dialect.name == "sqlite" else pg_insert
        result = await self._c.execute(
            dialect_insert(webhook_events)
            .values(
                event_id=event.event_id,
                webhook_id=event.webhook_id,
                topic=event.topic,
                shop_domain=event.shop_domain,
                triggered_at=event.triggered_at,
                received_at=event.received_at,
                processed_at=event.processed_at,
                status=event.status,
                detail=event.detail,
            )
            .on_conflict_do_nothing()
        )
        return result.rowcount == 1

    async def recent(self, *, limit: int = 50) -> list[WebhookEvent]:
        """The newest events first."""
        query = select(webhook_events).order_by(desc(webhook_events.c.received_at)).limit(limit)
        return [
            WebhookEvent(**{k: v for k, v in r._mapping.items()})
            for r in await self._c.execute(query)
        ]

    async def prune(self, older_than: datetime) -> int:
        """Forget events received before ``older_than`` (far past Shopify's retry window),
        and the refusal counts of those minutes."""
        result = await self._c.execute(
            delete(webhook_events).where(webhook_events.c.received_at < older_than)
        )
        await self._c.execute(
            delete(webhook_refusals).where(webhook_refusals.c.last_at < older_than)
        )
        return result.rowcount

    async def last_received_at(self) -> datetime | None:
        """When the newest recorded delivery arrived (signed, so trusted), or None."""
        query = select(func.max(webhook_events.c.received_at))
        value: datetime | None = (await self._c.execute(query)).scalar_one()
        return value

    async def add_refusals(self, counts: Sequence[WebhookRefusals]) -> None:
        """Add refused deliveries to their minute's count (one row per minute and reason)."""
        if not counts:
            return
        dialect_insert = sqlite_insert if self._c.dialect.name == "sqlite" else pg_insert
        statement = dialect_insert(webhook_refusals)
        await self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[webhook_refusals.c.minute, webhook_refusals.c.reason],
                set_={
                    "refused": webhook_refusals.c.refused + statement.excluded.refused,
                    "last_at": func.max(webhook_refusals.c.last_at, statement.excluded.last_at)
                    if self._c.dialect.name == "sqlite"
                    else func.greatest(webhook_refusals.c.last_at, statement.excluded.last_at),
                },
            ),
            [
                {"minute": c.minute, "reason": c.reason, "refused": c.refused, "last_at": c.last_at}
                for c in counts
            ],
        )

    async def refusals_since(self, since: datetime) -> list[WebhookRefusals]:
        """Refusal counts of the minutes whose last refusal came after ``since``, oldest first."""
        query = (
            select(webhook_refusals)
            .where(webhook_refusals.c.last_at > since)
            .order_by(webhook_refusals.c.minute)
        )
        return [WebhookRefusals(**r._mapping) for r in await self._c.execute(query)]


def encode_write(write: SetQuantities) -> str:
    """Serialise a write so that it can be resent exactly."""
    return json.dumps(
        {
            "key": write.idempotency_key,
            "uri": write.reference_document_uri,
            "reason": write.reason,
            "entries": [[e.inventory_item_id, e.quantity, e.expected] for e in write.entries],
        },
        separators=(",", ":"),
    )


def decode_write(text: str) -> SetQuantities:
    """The inverse of :func:`encode_write`."""
    data = json.loads(text)
    return SetQuantities(
        idempotency_key=data["key"],
        reference_document_uri=data["uri"],
        reason=data["reason"],
        entries=tuple(
            QuantityWrite(InventoryItemId(item), quantity, expected)
            for item, quantity, expected in data["entries"]
        ),
    )


class SqlOutboundWriteRepository:
    """``outbound_writes``: each write stored before it is sent, until Shopify answers."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, write: SetQuantities, now: datetime) -> None:
        """Store a write about to be sent."""
        await self._c.execute(
            insert(outbound_writes).values(
                idempotency_key=write.idempotency_key,
                request=encode_write(write),
                product_count=len(write.entries),
                created_at=now,
            )
        )

    async def get(self, key: str) -> SetQuantities | None:
        """The stored write, or None once answered."""
        query = select(outbound_writes.c.request).where(outbound_writes.c.idempotency_key == key)
        text = (await self._c.execute(query)).scalar_one_or_none()
        return None if text is None else decode_write(text)

    async def failed_attempt(self, key: str, error: str) -> None:
        """Count one more attempt without a definite answer."""
        await self._c.execute(
            update(outbound_writes)
            .where(outbound_writes.c.idempotency_key == key)
            .values(attempts=outbound_writes.c.attempts + 1, last_error=error[:1000])
        )

    async def remove(self, key: str) -> None:
        """Shopify answered: forget the write."""
        await self._c.execute(
            delete(outbound_writes).where(outbound_writes.c.idempotency_key == key)
        )

    async def keys(self) -> list[str]:
        """Every write still waiting for an answer, oldest first."""
        query = select(outbound_writes.c.idempotency_key).order_by(outbound_writes.c.created_at)
        return list((await self._c.execute(query)).scalars())


class SqlSyncRunRepository:
    """``sync_runs``: what each reconcile or push pass did, for /health and the admin page."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, run: SyncRun) -> None:
        """Record a finished run."""
        await self._c.execute(
            insert(sync_runs).values(
                kind=run.kind,
                started_at=run.started_at,
                finished_at=run.finished_at,
                checked=run.checked,
                changed=run.changed,
                failed=run.failed,
                error=run.error,
            )
        )

    async def last(self, kind: str) -> SyncRun | None:
        """The newest run of this kind."""
        query = (
            select(sync_runs)
            .where(sync_runs.c.kind == kind)
            .order_by(desc(sync_runs.c.id))
            .limit(1)
        )
        row = (await self._c.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return SyncRun(
            kind=m["kind"],
            started_at=m["started_at"],
            finished_at=m["finished_at"],
            checked=m["checked"],
            changed=m["changed"],
            failed=m["failed"],
            error=m["error"],
        )


class SqlLeaseRepository:
    """``leases``: a named lock with an expiry, so one process runs the scheduled reconcile."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew the lease; False while another holder's lease is still valid."""
        expires = now + ttl
        result = await self._c.execute(
            update(leases)
            .where(
                leases.c.name == name,
                or_(leases.c.holder == holder, leases.c.expires_at < now),
            )
            .values(holder=holder, expires_at=expires)
        )
        if result.rowcount == 1:
            return True
        try:
            async with self._c.begin_nested():
                await self._c.execute(
                    insert(leases).values(name=name, holder=holder, expires_at=expires)
                )
        except IntegrityError:
            return False
        return True

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up early."""
        await self._c.execute(
            delete(leases).where(leases.c.name == name, leases.c.holder == holder)
        )
