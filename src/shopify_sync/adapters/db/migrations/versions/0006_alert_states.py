"""Remember which alert conditions were notified as on (``alert_states``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

One row per condition last notified as started, with its message; the row goes when the
condition's clearing is notified. Every process checks against these rows, under a lease,
so a condition's start and its clearing are each sent once, whichever process sees them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("condition", name="pk_alert_states"),
    )


def downgrade() -> None:
    op.drop_table("alert_states")
