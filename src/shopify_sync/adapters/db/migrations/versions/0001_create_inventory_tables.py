"""Create the inventory tables, their indexes and the audit triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The audit triggers write one ``inventory_sync_log`` row for every change of
``b2c_stock`` or ``b2b_stock``, in the same transaction as the change, whoever makes
it: our own writes (which bump ``change_seq`` and say who they are in ``change_*``)
and direct writes by the B2B platform's Inventory Service (logged as ``local`` /
``db:direct``). So the log accounts for every unit without trusting every writer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pending() -> sa.TextClause:
    return sa.text(
        "sync_enabled AND (shopify_base IS NULL OR b2c_stock <> shopify_base"
        " OR refresh_requested OR push_key IS NOT NULL)"
    )


def upgrade() -> None:
    op.create_table(
        "product_inventory",
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("sku", sa.Text()),
        sa.Column("title", sa.Text()),
        sa.Column("b2b_stock", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("b2c_stock", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("shopify_variant_id", sa.Text()),
        sa.Column("shopify_inventory_item_id", sa.BigInteger()),
        sa.Column("sync_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("sync_error", sa.Text()),
        sa.Column("sync_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.Column("last_synced_at", UtcDateTime()),
        sa.Column("shopify_base", sa.Integer()),
        sa.Column("shopify_seen_at", UtcDateTime()),
        sa.Column("refresh_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("parked_at", UtcDateTime()),
        sa.Column("push_key", sa.Text()),
        sa.Column("push_quantity", sa.Integer()),
        sa.Column("push_expected", sa.Integer()),
        sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("change_direction", sa.Text()),
        sa.Column("change_source", sa.Text()),
        sa.Column("change_reference", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=NOW),
        sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("product_id", name="pk_product_inventory"),
    )
    where_error = sa.text("sync_error IS NOT NULL")
    op.create_index(
        "ix_product_inventory_sync_error",
        "product_inventory",
        ["product_id"],
        sqlite_where=where_error,
        postgresql_where=where_error,
    )
    op.create_index(
        "ix_product_inventory_shopify_inventory_item_id",
        "product_inventory",
        ["shopify_inventory_item_id"],
    )
    op.create_index("ix_product_inventory_sku", "product_inventory", ["sku"])
    op.create_index(
        "ix_product_inventory_pending",
        "product_inventory",
        ["product_id"],
        sqlite_where=_pending(),
        postgresql_where=_pending(),
    )

    op.create_table(
        "inventory_sync_log",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Integer()),
        sa.Column("new_value", sa.Integer()),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_sync_log"),
    )
    op.create_index(
        "ix_inventory_sync_log_created_at", "inventory_sync_log", [sa.text("created_at DESC")]
    )
    op.create_index(
        "ix_inventory_sync_log_product_id_id", "inventory_sync_log", ["product_id", "id"]
    )

    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("webhook_id", sa.Text()),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("shop_domain", sa.Text()),
        sa.Column("triggered_at", UtcDateTime()),
        sa.Column("received_at", UtcDateTime(), nullable=False, server_default=NOW),
        sa.Column("processed_at", UtcDateTime()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_webhook_id", "webhook_events", ["webhook_id"])
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])

    op.create_table(
        "outbound_writes",
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("product_count", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_outbound_writes"),
    )

    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )

    op.create_table(
        "sync_runs",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("checked", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("changed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("failed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_kind_id", "sync_runs", ["kind", "id"])

    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_audit()
    else:
        _create_sqlite_audit()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS product_inventory_audit ON product_inventory")
        op.execute("DROP FUNCTION IF EXISTS product_inventory_audit()")
    else:
        for name in ("insert", "update_b2c", "update_b2b"):
            op.execute(f"DROP TRIGGER IF EXISTS product_inventory_audit_{name}")
    for table in ("sync_runs", "leases", "outbound_writes", "webhook_events"):
        op.drop_table(table)
    op.drop_table("inventory_sync_log")
    op.drop_table("product_inventory")


_LOG_COLUMNS = (
    "product_id, direction, source, field, old_value, new_value, delta, reference, created_at"
)
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


def _create_sqlite_audit() -> None:
    ours = "NEW.change_seq IS NOT OLD.change_seq"
    who = (
        f"CASE WHEN {ours} THEN COALESCE(NEW.change_direction, 'local') ELSE 'local' END, "
        f"CASE WHEN {ours} THEN COALESCE(NEW.change_source, 'db:direct') ELSE 'db:direct' END"
    )
    ref = f"CASE WHEN {ours} THEN NEW.change_reference END"
    for field, suffix in (("b2c_stock", "b2c"), ("b2b_stock", "b2b")):
        op.execute(
            f"""
            CREATE TRIGGER product_inventory_audit_update_{suffix}
            AFTER UPDATE OF {field} ON product_inventory
            WHEN OLD.{field} IS NOT NEW.{field}
            BEGIN
              INSERT INTO inventory_sync_log ({_LOG_COLUMNS})
              VALUES (NEW.product_id, {who}, '{field}', OLD.{field}, NEW.{field},
                      NEW.{field} - OLD.{field}, {ref}, {_SQLITE_NOW});
            END
            """
        )
    inserted = "COALESCE(NEW.change_direction, 'local'), COALESCE(NEW.change_source, 'db:direct')"
    op.execute(
        f"""
        CREATE TRIGGER product_inventory_audit_insert
        AFTER INSERT ON product_inventory
        BEGIN
          INSERT INTO inventory_sync_log ({_LOG_COLUMNS})
          SELECT NEW.product_id, {inserted}, 'b2c_stock', NULL, NEW.b2c_stock, NEW.b2c_stock,
                 NEW.change_reference, {_SQLITE_NOW}
          WHERE NEW.b2c_stock <> 0;
          INSERT INTO inventory_sync_log ({_LOG_COLUMNS})
          SELECT NEW.product_id, {inserted}, 'b2b_stock', NULL, NEW.b2b_stock, NEW.b2b_stock,
                 NEW.change_reference, {_SQLITE_NOW}
          WHERE NEW.b2b_stock <> 0;
        END
        """
    )


def _create_postgresql_audit() -> None:
    op.execute(
        f"""
        CREATE FUNCTION product_inventory_audit() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
          ours boolean;
          dir text := 'local';
          src text := 'db:direct';
          ref text := NULL;
          old_b2c integer := NULL;
          old_b2b integer := NULL;
        BEGIN
          IF TG_OP = 'INSERT' THEN
            ours := NEW.change_source IS NOT NULL;
          ELSE
            ours := NEW.change_seq IS DISTINCT FROM OLD.change_seq;
            old_b2c := OLD.b2c_stock;
            old_b2b := OLD.b2b_stock;
          END IF;
          IF ours THEN
            dir := COALESCE(NEW.change_direction, 'local');
            src := COALESCE(NEW.change_source, 'db:direct');
            ref := NEW.change_reference;
          END IF;
          IF NEW.b2c_stock IS DISTINCT FROM COALESCE(old_b2c, 0) THEN
            INSERT INTO inventory_sync_log ({_LOG_COLUMNS})
            VALUES (NEW.product_id, dir, src, 'b2c_stock', old_b2c, NEW.b2c_stock,
                    NEW.b2c_stock - COALESCE(old_b2c, 0), ref, clock_timestamp());
          END IF;
          IF NEW.b2b_stock IS DISTINCT FROM COALESCE(old_b2b, 0) THEN
            INSERT INTO inventory_sync_log ({_LOG_COLUMNS})
            VALUES (NEW.product_id, dir, src, 'b2b_stock', old_b2b, NEW.b2b_stock,
                    NEW.b2b_stock - COALESCE(old_b2b, 0), ref, clock_timestamp());
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER product_inventory_audit AFTER INSERT OR UPDATE OF b2c_stock, b2b_stock"
        " ON product_inventory FOR EACH ROW EXECUTE FUNCTION product_inventory_audit()"
    )
