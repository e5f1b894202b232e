"""national register number and status_pushes: the citizen portal feeds

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meldingen") as batch:
        batch.add_column(sa.Column("national_register_number", sa.String(length=11), nullable=True))
    op.create_table(
        "status_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("melding_id", sa.String(length=36), nullable=False),
        sa.Column("history_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"]),
        sa.ForeignKeyConstraint(["history_id"], ["status_history.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("history_id", "feed", name="uq_status_pushes_history_feed"),
    )
    op.create_index("ix_status_pushes_melding_id", "status_pushes", ["melding_id"])
    op.create_index("ix_status_pushes_state_next", "status_pushes", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_status_pushes_state_next", table_name="status_pushes")
    op.drop_index("ix_status_pushes_melding_id", table_name="status_pushes")
    op.drop_table("status_pushes")
    with op.batch_alter_table("meldingen") as batch:
        batch.drop_column("national_register_number")
