"""directory_search: the reporter directory and its access log (issue 15 item 6)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_people",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.Column("street_address", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("national_register_number", sa.String(length=11), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("national_register_number", name="uq_directory_people_nrn"),
    )
    op.create_index("ix_directory_people_email", "directory_people", ["email"])
    op.create_index("ix_directory_people_phone", "directory_people", ["phone"])
    op.create_table(
        "directory_lookups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=27), nullable=False),
        sa.Column("melding_reference", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("query", sa.String(length=254), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_directory_lookups_at", "directory_lookups", ["at"])


def downgrade() -> None:
    op.drop_index("ix_directory_lookups_at", table_name="directory_lookups")
    op.drop_table("directory_lookups")
    op.drop_index("ix_directory_people_phone", table_name="directory_people")
    op.drop_index("ix_directory_people_email", table_name="directory_people")
    op.drop_table("directory_people")
