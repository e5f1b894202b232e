"""search_after_intake: SQLite's full-text index takes a melding when it leaves stage received (issue 11)

Indexing a melding's words in FTS5 cost about 95 µs of `serve`'s CPU a row inside the intake's
write (as much as the rest of the insert), where issue 11 asks the intake for >= 0.80x a bare
handler. The worker now pays it, in the transaction that routes the melding: the triggers keep
"in the index exactly when the stage is not received", and the desk's search reads the few
meldingen still at stage received straight from the table (`gateway.store.search`), so nothing
waiting for a worker is ever missing from a search. PostgreSQL's generated column is unchanged.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "(rowid, melding_id, body, street, reporter)"
_VALUES = """new.rowid, new.id,
        coalesce(new.subject, '') || ' ' || new.text,
        coalesce(new.street, '') || ' ' || coalesce(new.address, ''),
        coalesce(new.reporter_name, '') || ' ' || coalesce(new.reporter_email, '')"""
# A change of words, or a stage change into or out of received; not every later stage change
# (routed, delivered, ...), which would index the same words again for nothing.
_REINDEX_WHEN = """(old.stage = 'received') != (new.stage = 'received')
        OR (new.stage != 'received' AND (
            old.subject IS NOT new.subject OR old.text IS NOT new.text
            OR old.street IS NOT new.street OR old.address IS NOT new.address
            OR old.reporter_name IS NOT new.reporter_name OR old.reporter_email IS NOT new.reporter_email))"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER meldingen_search_insert AFTER INSERT ON meldingen
        WHEN new.stage != 'received' BEGIN
        INSERT INTO meldingen_search {_COLUMNS} VALUES ({_VALUES});
    END""",
    f"""CREATE TRIGGER meldingen_search_update
        AFTER UPDATE OF subject, text, street, address, reporter_name, reporter_email, stage ON meldingen
        WHEN {_REINDEX_WHEN} BEGIN
        DELETE FROM meldingen_search WHERE rowid = old.rowid;
        INSERT INTO meldingen_search {_COLUMNS} SELECT {_VALUES} WHERE new.stage != 'received';
    END""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER meldingen_search_insert")
    op.execute("DROP TRIGGER meldingen_search_update")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)
    op.execute(
        "DELETE FROM meldingen_search WHERE rowid IN (SELECT rowid FROM meldingen WHERE stage = 'received')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER meldingen_search_insert")
    op.execute("DROP TRIGGER meldingen_search_update")
    # 0018's triggers: every insert and every named column's update indexes.
    op.execute(
        f"""CREATE TRIGGER meldingen_search_insert AFTER INSERT ON meldingen BEGIN
        INSERT INTO meldingen_search {_COLUMNS} VALUES ({_VALUES});
    END"""
    )
    op.execute(
        f"""CREATE TRIGGER meldingen_search_update
        AFTER UPDATE OF subject, text, street, address, reporter_name, reporter_email ON meldingen BEGIN
        DELETE FROM meldingen_search WHERE rowid = old.rowid;
        INSERT INTO meldingen_search {_COLUMNS} VALUES ({_VALUES});
    END"""
    )
    op.execute(
        f"""INSERT INTO meldingen_search {_COLUMNS}
        SELECT rowid, id, coalesce(subject, '') || ' ' || text,
            coalesce(street, '') || ' ' || coalesce(address, ''),
            coalesce(reporter_name, '') || ' ' || coalesce(reporter_email, '')
        FROM meldingen WHERE stage = 'received'"""
    )
