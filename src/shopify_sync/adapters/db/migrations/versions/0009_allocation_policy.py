"""Store each product's allocation policy, buffer and cap (NULL: the settings' default).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

``allocation_policy`` is ``split`` (Shopify sells from ``b2c_stock``) or ``shared``
(both channels sell from ``b2b_stock``); ``allocation_buffer`` keeps that many units off
Shopify and ``allocation_cap`` bounds what it shows (see ``domain.allocation``). The
checks refuse what the domain refuses, whoever writes the row.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "allocation_policy": "TEXT CHECK (allocation_policy IN ('split', 'shared'))",
    "allocation_buffer": "INTEGER CHECK (allocation_buffer >= 0)",
    "allocation_cap": "INTEGER CHECK (allocation_cap >= 0)",
}
"""The same statement on SQLite and PostgreSQL: a plain ``ADD COLUMN`` with its check keeps
the table (a batch copy on SQLite would rebuild it and drop the audit triggers)."""


def upgrade() -> None:
    for name, definition in COLUMNS.items():
        op.execute(f"ALTER TABLE product_inventory ADD COLUMN {name} {definition}")


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.execute(f"ALTER TABLE product_inventory DROP COLUMN {name}")
