"""directory_search: the reporter directory, its access log, the desk's search (issue 15 items 6, 7)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The search index is kept in step by the database itself (triggers, a generated column), so that no
# store function writing meldingen (bulk intake, retention, an UPDATE anywhere) can leave it behind.
# PostgreSQL: street and address (weight A) and the reporter's name and e-mail (B) with 'simple' (no
# stemming: names), subject and text (C) with 'dutch' (stems: "tegels" finds "tegel").
PG_SEARCH = (
    """ALTER TABLE meldingen ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(street, '') || ' ' || coalesce(address, '')), 'A')
        || setweight(
            to_tsvector('simple', coalesce(reporter_name, '') || ' ' || coalesce(reporter_email, '')), 'B'
        )
        || setweight(to_tsvector('dutch', coalesce(subject, '') || ' ' || text), 'C')
    ) STORED""",
    "CREATE INDEX ix_meldingen_search_document ON meldingen USING gin (search_document)",
)

# SQLite: an FTS5 table whose rowid is the melding's rowid (the triggers find a row by it at once);
# accents and case folded. The gateway never runs VACUUM, which could renumber rowids.
_SQLITE_ROW = """(rowid, melding_id, body, street, reporter) VALUES (new.rowid, new.id,
        coalesce(new.subject, '') || ' ' || new.text,
        coalesce(new.street, '') || ' ' || coalesce(new.address, ''),
        coalesce(new.reporter_name, '') || ' ' || coalesce(new.reporter_email, ''))"""
SQLITE_SEARCH = (
    """CREATE VIRTUAL TABLE meldingen_search USING fts5(
        melding_id UNINDEXED, body, street, reporter, tokenize = 'unicode61 remove_diacritics 2')""",
    """INSERT INTO meldingen_search (rowid, melding_id, body, street, reporter)
        SELECT rowid, id, coalesce(subject, '') || ' ' || text,
            coalesce(street, '') || ' ' || coalesce(address, ''),
            coalesce(reporter_name, '') || ' ' || coalesce(reporter_email, '')
        FROM meldingen""",
    f"""CREATE TRIGGER meldingen_search_insert AFTER INSERT ON meldingen BEGIN
        INSERT INTO meldingen_search {_SQLITE_ROW};
    END""",
    f"""CREATE TRIGGER meldingen_search_update
        AFTER UPDATE OF subject, text, street, address, reporter_name, reporter_email ON meldingen BEGIN
        DELETE FROM meldingen_search WHERE rowid = old.rowid;
        INSERT INTO meldingen_search {_SQLITE_ROW};
    END""",
    """CREATE TRIGGER meldingen_search_delete AFTER DELETE ON meldingen BEGIN
        DELETE FROM meldingen_search WHERE rowid = old.rowid;
    END""",
)


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
    op.create_index("ix_meldingen_received", "meldingen", ["received_at"])
    op.create_index("ix_meldingen_nrn", "meldingen", ["national_register_number"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SEARCH:
            op.execute(statement)
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_meldingen_search_document")
        op.execute("ALTER TABLE meldingen DROP COLUMN search_document")
    else:
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER meldingen_search_{trigger}")
        op.execute("DROP TABLE meldingen_search")
    op.drop_index("ix_meldingen_nrn", table_name="meldingen")
    op.drop_index("ix_meldingen_received", table_name="meldingen")
    op.drop_index("ix_directory_lookups_at", table_name="directory_lookups")
    op.drop_table("directory_lookups")
    op.drop_index("ix_directory_people_phone", table_name="directory_people")
    op.drop_index("ix_directory_people_email", table_name="directory_people")
    op.drop_table("directory_people")
