"""Pending by pool: the pending scan's partial index follows the one definition of pending
under allocation policies.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

A product is pending when it has no agreement yet (no base, no stored policy, no
``pool_base``), its pool (``b2c_stock`` under ``split``, ``b2b_stock`` under ``shared``)
moved since the last agreement, a re-read was requested, or a write is in flight. Under
``split`` a change of ``b2b_stock`` alone no longer makes a product pending, and the
predicate reads the stored policy only, so the index stays static whatever the settings
say. ``tables.PENDING`` and ``Product.pending`` are the same definition.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_product_inventory_pending"

PENDING = (
    "sync_enabled AND (shopify_base IS NULL OR allocation_policy IS NULL OR pool_base IS NULL"
    " OR (CASE WHEN allocation_policy = 'shared' THEN b2b_stock ELSE b2c_stock END)"
    " <> pool_base OR refresh_requested OR push_key IS NOT NULL)"
)
PENDING_BEFORE = (
    "sync_enabled AND (shopify_base IS NULL OR b2c_stock <> shopify_base"
    " OR refresh_requested OR push_key IS NOT NULL)"
)


def _pending_index(where: str) -> None:
    op.drop_index(INDEX, table_name="product_inventory")
    clause = sa.text(where)
    op.create_index(
        INDEX, "product_inventory", ["product_id"], sqlite_where=clause, postgresql_where=clause
    )


def upgrade() -> None:
    _pending_index(PENDING)


def downgrade() -> None:
    _pending_index(PENDING_BEFORE)
