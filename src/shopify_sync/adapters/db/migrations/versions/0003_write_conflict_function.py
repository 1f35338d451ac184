"""PostgreSQL: a function that fails the statement calling it, as a write conflict.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

The webhook level store writes a batch in one statement, without a transaction around it,
when its read locked nothing (``level_statements``): the statement's last step checks
that every planned change and event record landed, and calls this function when one did
not. Its error (SQLSTATE 40001, serialization_failure) rolls the whole statement back,
and the store re-reads the batch under locks. SQLite has no such statement: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "shopify_sync_write_conflict"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}(reason text) RETURNS integer
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = reason;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(text)")
