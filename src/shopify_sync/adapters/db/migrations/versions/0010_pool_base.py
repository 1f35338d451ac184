"""Store each product's pool as both sides last agreed (``pool_base``); synced products keep
the policy they have today (``split``), whatever the settings' default says later.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

``pool_base`` is the value of the product's pool column (``b2c_stock`` under ``split``,
``b2b_stock`` under ``shared``) when both sides last agreed: the pool moved since when it
differs. A product synced before has ``split`` written into its row (buffer and cap
stay NULL: none) and ``pool_base = shopify_base``, which is what ``split`` without buffer
or cap means. Plain ``ALTER``/``UPDATE`` on both databases: a batch copy on SQLite would
rebuild the table and drop the audit triggers (see 0009).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE product_inventory ADD COLUMN pool_base INTEGER")
    op.execute(
        "UPDATE product_inventory SET allocation_policy = 'split'"
        " WHERE shopify_base IS NOT NULL AND allocation_policy IS NULL"
    )
    op.execute(
        "UPDATE product_inventory SET pool_base = shopify_base"
        " WHERE shopify_base IS NOT NULL AND allocation_policy = 'split'"
        " AND allocation_buffer IS NULL AND allocation_cap IS NULL"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE product_inventory DROP COLUMN pool_base")
