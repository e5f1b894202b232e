"""The desk's waiting list in index order to the last column: ix_meldingen_status_updated becomes
(status, updated_at, id), so a page of the list ordered by (updated_at, id) is read off the index
instead of sorting every waiting melding first (issue 15 item 9)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_meldingen_status_updated", table_name="meldingen")
    op.create_index("ix_meldingen_status_updated_id", "meldingen", ["status", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_meldingen_status_updated_id", table_name="meldingen")
    op.create_index("ix_meldingen_status_updated", "meldingen", ["status", "updated_at"])
