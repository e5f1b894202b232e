"""deliveries.first_failed_at: the retry budget is a duration from the first failed attempt

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True))
    # Deliveries failing while this runs: their budget starts at their last failure.
    op.execute("UPDATE deliveries SET first_failed_at = updated_at WHERE state IN ('retrying', 'dead')")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("first_failed_at")
