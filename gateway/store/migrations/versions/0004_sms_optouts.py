"""sms opt-outs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_optouts",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("message_sid", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    # An SMS follow-up is threaded onto the sender's latest melding: found by number.
    with op.batch_alter_table("meldingen", schema=None) as batch_op:
        batch_op.create_index("ix_meldingen_reporter_phone", ["reporter_phone", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meldingen", schema=None) as batch_op:
        batch_op.drop_index("ix_meldingen_reporter_phone")
    op.drop_table("sms_optouts")
