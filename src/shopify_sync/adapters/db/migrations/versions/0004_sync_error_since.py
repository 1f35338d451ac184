"""Record when a product's unresolved sync error began (``sync_error_since``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``sync_error`` holds the latest failure; monitoring needs the first one of the run of
failures (the age of the oldest unresolved error, and the alert on errors older than N
minutes). A failure sets it when it is empty, a success clears it. Rows already in
error take their last update as the best known start.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shopify_sync.adapters.db.tables import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product_inventory", sa.Column("sync_error_since", UtcDateTime()))
    op.execute(
        "UPDATE product_inventory SET sync_error_since = updated_at WHERE sync_error IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("product_inventory") as batch:
        batch.drop_column("sync_error_since")
