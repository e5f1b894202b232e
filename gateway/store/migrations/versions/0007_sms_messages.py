"""sms messages sent, with their delivery status

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("melding_id", sa.String(length=36), nullable=False),
        sa.Column("history_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("resends", sa.Integer(), nullable=False),
        sa.Column("resend_of", sa.String(length=64), nullable=True),
        sa.Column("resent_as", sa.String(length=64), nullable=True),
        sa.Column("resend_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"]),
        sa.ForeignKeyConstraint(["history_id"], ["status_history.id"]),
        sa.PrimaryKeyConstraint("sid"),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index("ix_sms_messages_decision", ["history_id", "channel", "part"], unique=False)
        batch_op.create_index("ix_sms_messages_resend_at", ["resend_at"], unique=False)
        batch_op.create_index("ix_sms_messages_melding", ["melding_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_melding")
        batch_op.drop_index("ix_sms_messages_resend_at")
        batch_op.drop_index("ix_sms_messages_decision")
    op.drop_table("sms_messages")
