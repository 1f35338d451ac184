"""Keep admin sessions and failed sign-ins in the database (``admin_sessions``,
``sign_in_failures``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Sessions live on the server so that signing out ends them everywhere (a copied cookie no
longer works) and an idle one expires; failed sign-ins are counted per client address so
that the growing delay and the global cap hold across every ``serve`` process. Only a
SHA-256 of each session id is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("session_hash", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_admin_sessions"),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", UtcDateTime(), nullable=False),
        sa.Column("blocked_until", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client", name="pk_sign_in_failures"),
    )
    op.create_index("ix_sign_in_failures_last_failed_at", "sign_in_failures", ["last_failed_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_last_failed_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_table("admin_sessions")
