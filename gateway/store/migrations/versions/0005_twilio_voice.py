"""twilio voice calls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("from_number", sa.String(length=40), nullable=True),
        sa.Column("to_number", sa.String(length=40), nullable=True),
        sa.Column("call_status", sa.String(length=16), nullable=True),
        sa.Column("status_sequence", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("recording_status", sa.String(length=16), nullable=True),
        sa.Column("recording_duration", sa.Integer(), nullable=True),
        sa.Column("transcription_sid", sa.String(length=64), nullable=True),
        sa.Column("transcription_text", sa.Text(), nullable=True),
        sa.Column("transcription_status", sa.String(length=16), nullable=True),
        sa.Column("first_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("melding_id", sa.String(length=36), nullable=True),
        sa.Column("assembled_by", sa.String(length=16), nullable=True),
        sa.Column("assembled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callbacks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["melding_id"], ["meldingen.id"]),
        sa.PrimaryKeyConstraint("call_sid"),
    )
    # The settle sweep looks for calls without a melding that went quiet.
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.create_index("ix_voice_calls_open", ["melding_id", "last_event_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_calls_open")
    op.drop_table("voice_calls")
