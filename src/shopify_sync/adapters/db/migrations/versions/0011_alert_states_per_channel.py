"""Remember each alert condition per channel (``alert_states.channel``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A row now says that one channel (the webhook receiver, or the e-mail recipients) was told a
condition started; it goes when that channel is told it cleared. With two channels and one
failing, the next check retries the failed one only. Rows from before (channel ``''``) were
delivered to every channel configured then: the next check copies them to each channel.

The primary key grows to (condition, channel): the table is rebuilt with its rows (a few at
most), the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = sa.table(
    "alert_states",
    sa.column("condition", sa.Text()),
    sa.column("message", sa.Text()),
    sa.column("since", UtcDateTime()),
)


def _rebuild(rows: list[dict[str, object]], *, per_channel: bool) -> None:
    op.drop_table("alert_states")
    columns: list[sa.schema.SchemaItem] = [sa.Column("condition", sa.Text(), nullable=False)]
    if per_channel:
        columns.append(sa.Column("channel", sa.Text(), nullable=False))
    columns += [
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "condition", *(["channel"] if per_channel else []), name="pk_alert_states"
        ),
    ]
    table = op.create_table("alert_states", *columns)
    if rows:
        op.bulk_insert(table, rows)


def upgrade() -> None:
    rows = op.get_bind().execute(sa.select(_OLD)).mappings().all()
    _rebuild([{**row, "channel": ""} for row in rows], per_channel=True)


def downgrade() -> None:
    # One row per condition again: a condition some channel was told about stays notified.
    rows = op.get_bind().execute(sa.select(_OLD)).mappings().all()
    kept = {str(row["condition"]): dict(row) for row in rows}
    _rebuild(list(kept.values()), per_channel=False)
