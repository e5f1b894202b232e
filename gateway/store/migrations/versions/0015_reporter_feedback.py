"""reporter_feedback: how the reporter wants to hear of their melding (email, sms, none)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every melding stored before: the channel's own way, as they were notified until now.
    with op.batch_alter_table("meldingen") as batch:
        batch.add_column(sa.Column("reporter_feedback", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meldingen") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("reporter_feedback")
