"""partial_meldingen_indexes: six meldingen indexes keep only the rows whose first column is set (issue 11)

At intake a melding has no dienst, grid cell, street key or master yet, a web form no phone, an
SMS no e-mail, most meldingen no national register number: each of those rows was an entry in
b-trees no query ever reads it from (every query they serve compares the column with = or IN).
The intake's insert skips them now; the worker adds the dedupe entries when it routes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_meldingen_dedupe_cell": ["dienst", "geo_cell", "received_at"],
    "ix_meldingen_dedupe_street": ["dienst", "street_key", "received_at"],
    "ix_meldingen_duplicate_of": ["duplicate_of"],
    "ix_meldingen_reporter_phone": ["reporter_phone", "received_at"],
    "ix_meldingen_reporter_email": ["reporter_email", "received_at"],
    "ix_meldingen_nrn": ["national_register_number"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        where = sa.text(f"{columns[0]} IS NOT NULL")
        op.drop_index(name, table_name="meldingen")
        op.create_index(name, "meldingen", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="meldingen")
        op.create_index(name, "meldingen", columns)
