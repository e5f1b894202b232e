"""Schema migrations (Alembic), run programmatically on the gateway's own connection."""

from __future__ import annotations

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
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(conn: Connection) -> None:
    """Bring the schema to head, inside the caller's write transaction.

    Safe when several processes (serve, workers) start at once: PostgreSQL takes an
    advisory lock, SQLite's write transaction (BEGIN IMMEDIATE) is exclusive already.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
    # "heads": should two lines of migrations exist (parallel work), apply both.
    command.upgrade(alembic_config(conn), "heads")


def current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())
