"""Index the products whose write to Shopify is in flight, by its idempotency key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Every push finds its rows by ``push_key`` (store, settle, resend); without an index each
of those is a scan of the whole table, which dominated a 100,000-product reconcile. The
index is partial: only rows with a write in flight are in it, so it stays tiny.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_FLIGHT = sa.text("push_key IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_product_inventory_push_key",
        "product_inventory",
        ["push_key"],
        sqlite_where=_IN_FLIGHT,
        postgresql_where=_IN_FLIGHT,
    )


def downgrade() -> None:
    op.drop_index("ix_product_inventory_push_key", table_name="product_inventory")
