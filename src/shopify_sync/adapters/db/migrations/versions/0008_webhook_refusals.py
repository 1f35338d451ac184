"""Count webhook deliveries refused for their signature (``webhook_refusals``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A wrong ``SHOPIFY_WEBHOOK_SECRET`` refuses every delivery with 401. ``/health``, the admin
page and ``shopify-sync errors`` say so when recent deliveries were refused and none was
accepted since; every ``serve`` process must see the counts, so they live in the database,
one row per minute and reason (a flood of forged requests adds no rows, only counts).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_refusals",
        sa.Column("minute", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "reason", name="pk_webhook_refusals"),
    )


def downgrade() -> None:
    op.drop_table("webhook_refusals")
