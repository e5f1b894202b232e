"""location and duplicate detection: located place, blocking keys, hotspots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meldingen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("located", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("loc_lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("loc_lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("loc_radius", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("street_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("house_no", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("geo_cell", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("dedupe_sig", sa.JSON(), nullable=True))
        batch_op.create_index("ix_meldingen_dedupe_cell", ["dienst", "geo_cell", "received_at"], unique=False)
        batch_op.create_index(
            "ix_meldingen_dedupe_street", ["dienst", "street_key", "received_at"], unique=False
        )
        batch_op.create_index("ix_meldingen_duplicate_of", ["duplicate_of"], unique=False)

    op.create_table(
        "hotspots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dienst", sa.String(length=32), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("melding_ids", sa.JSON(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hotspots", schema=None) as batch_op:
        batch_op.create_index("ix_hotspots_dienst_last", ["dienst", "last_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hotspots", schema=None) as batch_op:
        batch_op.drop_index("ix_hotspots_dienst_last")
    op.drop_table("hotspots")
    with op.batch_alter_table("meldingen", schema=None) as batch_op:
        batch_op.drop_index("ix_meldingen_duplicate_of")
        batch_op.drop_index("ix_meldingen_dedupe_street")
        batch_op.drop_index("ix_meldingen_dedupe_cell")
        for column in (
            "dedupe_sig",
            "geo_cell",
            "house_no",
            "street_key",
            "loc_radius",
            "loc_lon",
            "loc_lat",
            "located",
            "duplicate_reason",
            "duplicate_score",
        ):
            batch_op.drop_column(column)
