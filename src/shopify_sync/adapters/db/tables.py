"""The database schema as SQLAlchemy Core tables (the migrations are the source of truth).

Column names of ``product_inventory``, ``inventory_sync_log`` and ``webhook_events`` are a
contract with the B2B platform's Inventory Service, which reads and writes them directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    case,
    false,
    literal_column,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NOW = text("CURRENT_TIMESTAMP")

product_inventory = Table(
    "product_inventory",
    metadata,
    Column("product_id", Text, primary_key=True),
    Column("sku", Text),
    Column("title", Text),
    Column("b2b_stock", Integer, nullable=False, server_default=text("0")),
    Column("b2c_stock", Integer, nullable=False, server_default=text("0")),
    Column("shopify_variant_id", Text),
    Column("shopify_inventory_item_id", BigInteger),
    Column("sync_enabled", Boolean, nullable=False, server_default=false()),
    Column("sync_error", Text),
    # Ours: when the unresolved error began (sync_error holds the latest failure).
    Column("sync_error_since", UtcDateTime),
    Column("sync_attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime),
    Column("last_synced_at", UtcDateTime),
    Column("shopify_base", Integer),
    Column("shopify_seen_at", UtcDateTime),
    # Ours: a re-read is owed (ambiguous or deferred webhook, an order came in).
    Column("refresh_requested", Boolean, nullable=False, server_default=false()),
    # Ours: parked after too many failed attempts, until an operator retries.
    Column("parked_at", UtcDateTime),
    # Ours: the write in flight (outbound_writes.idempotency_key), what it sets and expects.
    Column("push_key", Text),
    Column("push_quantity", Integer),
    Column("push_expected", Integer),
    # Ours: the allocation policy, buffer and cap (NULL: the settings' default).
    Column(
        "allocation_policy",
        Text,
        CheckConstraint("allocation_policy IN ('split', 'shared')", name="allocation_policy"),
    ),
    Column(
        "allocation_buffer",
        Integer,
        CheckConstraint("allocation_buffer >= 0", name="allocation_buffer"),
    ),
    Column(
        "allocation_cap", Integer, CheckConstraint("allocation_cap >= 0", name="allocation_cap")
    ),
    # Ours: the pool column's value (b2c_stock under split, b2b_stock under shared) when
    # both sides last agreed; NULL before the first agreement.
    Column("pool_base", Integer),
    # Ours: who made the last change. The audit triggers copy these into the log when
    # change_seq moved, and log a direct write by the Inventory Service as 'local'.
    Column("change_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("change_direction", Text),
    Column("change_source", Text),
    Column("change_reference", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=NOW),
    Column("updated_at", UtcDateTime, nullable=False, server_default=NOW),
)

Index(
    "ix_product_inventory_sync_error",
    product_inventory.c.product_id,
    sqlite_where=product_inventory.c.sync_error.is_not(None),
    postgresql_where=product_inventory.c.sync_error.is_not(None),
)
Index(
    "ix_product_inventory_shopify_inventory_item_id",
    product_inventory.c.shopify_inventory_item_id,
)
Index("ix_product_inventory_sku", product_inventory.c.sku)
Index(
    "ix_product_inventory_push_key",
    product_inventory.c.push_key,
    sqlite_where=product_inventory.c.push_key.is_not(None),
    postgresql_where=product_inventory.c.push_key.is_not(None),
)
POOL = case(
    (
        product_inventory.c.allocation_policy == literal_column("'shared'"),
        product_inventory.c.b2b_stock,
    ),
    else_=product_inventory.c.b2c_stock,
)
"""The pool column's value under the product's stored policy (``Allocation.pool``)."""
PENDING = product_inventory.c.sync_enabled & (
    product_inventory.c.shopify_base.is_(None)
    | product_inventory.c.allocation_policy.is_(None)
    | product_inventory.c.pool_base.is_(None)
    | (product_inventory.c.pool_base != POOL)
    | product_inventory.c.refresh_requested
    | product_inventory.c.push_key.is_not(None)
)
"""SQL's definition of a pending product, ``Product.pending`` in Python (a test runs both on
random rows): the pending scan's query, the admin's count and this partial index's predicate.
It reads the stored policy only, never the settings' default, so the index stays static."""
Index(
    "ix_product_inventory_pending",
    product_inventory.c.product_id,
    sqlite_where=PENDING,
    postgresql_where=PENDING,
)

inventory_sync_log = Table(
    "inventory_sync_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("product_id", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("old_value", Integer),
    Column("new_value", Integer),
    Column("delta", Integer, nullable=False),
    Column("reference", Text),
    Column("detail", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=NOW),
)
Index("ix_inventory_sync_log_created_at", inventory_sync_log.c.created_at.desc())
Index(
    "ix_inventory_sync_log_product_id_id", inventory_sync_log.c.product_id, inventory_sync_log.c.id
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("webhook_id", Text),
    Column("topic", Text, nullable=False),
    Column("shop_domain", Text),
    Column("triggered_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False, server_default=NOW),
    Column("processed_at", UtcDateTime),
    Column("status", Text, nullable=False),
    Column("detail", Text),
)
Index("ix_webhook_events_webhook_id", webhook_events.c.webhook_id)
Index("ix_webhook_events_received_at", webhook_events.c.received_at)

# Deliveries refused before they were trusted (a bad signature), counted per minute and
# reason: one row per minute at most, however many requests, pruned with webhook_events.
webhook_refusals = Table(
    "webhook_refusals",
    metadata,
    Column("minute", UtcDateTime, primary_key=True),
    Column("reason", Text, primary_key=True),
    Column("refused", BigInteger, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
)

outbound_writes = Table(
    "outbound_writes",
    metadata,
    Column("idempotency_key", Text, primary_key=True),
    Column("request", Text, nullable=False),
    Column("product_count", Integer, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=NOW),
)

metric_intervals = Table(
    "metric_intervals",
    metadata,
    Column("bucket_start", UtcDateTime, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float, nullable=False),
)

alert_states = Table(
    "alert_states",
    metadata,
    Column("condition", Text, primary_key=True),
    # The channel told (``AlertSender.channels``); '' in rows from before channels were
    # told apart, which stood for every channel.
    Column("channel", Text, primary_key=True),
    Column("message", Text, nullable=False),
    Column("since", UtcDateTime, nullable=False),
)

admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("session_hash", Text, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("client", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime),
    Index("ix_sign_in_failures_last_failed_at", "last_failed_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("checked", Integer, nullable=False, server_default=text("0")),
    Column("changed", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
)
Index("ix_sync_runs_kind_id", sync_runs.c.kind, sync_runs.c.id)
