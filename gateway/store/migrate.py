"""Schema migrations (Alembic), run programmatically on the gateway's own connection."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_ID = 1777_2026  # PostgreSQL advisory lock key: one migrator at a time


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    return set(_heads())


@cache  # the revisions ship with the code: read once a process (Alembic parses every file to say)
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(conn: Connection) -> None:
    """Bring the schema to head, inside the caller's write transaction.

    Safe when several processes (serve, workers) start at once: PostgreSQL takes an
    advisory lock, SQLite's write transaction (BEGIN IMMEDIATE) is exclusive already.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
    if current_revisions(conn) == head_revisions():
        return  # at head, as at every start but the first: nothing for Alembic to load and run
    # "heads": should two lines of migrations exist (parallel work), apply both.
    command.upgrade(alembic_config(conn), "heads")


def current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())
