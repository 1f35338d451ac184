"""Keep per-interval figures for the dashboard's charts (``metric_intervals``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

One row per five-minute interval and figure (changes pushed, pulled, webhooks, errors,
drift, lag and latency sums, counts and maxima). Every process adds what it counted to the
same rows, so the charts show the whole service; rows older than the retention period are
pruned. The dashboard reads a week of it in one indexed range scan instead of the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_intervals",
        sa.Column("bucket_start", UtcDateTime(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("bucket_start", "name", name="pk_metric_intervals"),
    )


def downgrade() -> None:
    op.drop_table("metric_intervals")
