"""sms media to fetch

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("melding_id", sa.String(length=36), nullable=False),
        sa.Column("message_sid", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_sid", "position", name="uq_sms_media_message_position"),
    )
    with op.batch_alter_table("sms_media", schema=None) as batch_op:
        batch_op.create_index("ix_sms_media_melding_state", ["melding_id", "state"], unique=False)
        batch_op.create_index("ix_sms_media_state_updated", ["state", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_media", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_media_state_updated")
        batch_op.drop_index("ix_sms_media_melding_state")
    op.drop_table("sms_media")
