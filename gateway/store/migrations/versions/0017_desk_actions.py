"""desk_actions: what an operator did to a melding that is no status change (confirm, reject, split,
resend, reroute), under the operator's name; a rejected duplicate pair is never suggested again

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("melding_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("other_id", sa.String(length=36), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_desk_actions_melding", "desk_actions", ["melding_id", "action"])
    # the desk page's "other meldingen of this reporter" by e-mail (by phone: ix_meldingen_reporter_phone)
    op.create_index("ix_meldingen_reporter_email", "meldingen", ["reporter_email", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_meldingen_reporter_email", table_name="meldingen")
    op.drop_index("ix_desk_actions_melding", table_name="desk_actions")
    op.drop_table("desk_actions")
