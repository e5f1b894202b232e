"""duplicate_suggestions: open problems a melding may report, below the automatic threshold, for the desk

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duplicate_suggestions",
        sa.Column("melding_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["candidate_id"], ["meldingen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("melding_id", "candidate_id"),
    )
    op.create_index("ix_duplicate_suggestions_candidate", "duplicate_suggestions", ["candidate_id"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_suggestions_candidate", table_name="duplicate_suggestions")
    op.drop_table("duplicate_suggestions")
