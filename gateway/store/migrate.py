"""Schema migrations (Alembic), run programmatically on the gateway's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


_LOCK_ID = 1777_2026  # advisory lock key: one migrator at a time


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to head. Safe when several processes (serve, workers) start at once."""

    def run(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
        command.upgrade(alembic_config(conn), "head")

    async with engine.connect() as conn:
        conn = await conn.execution_options(gateway_write=True)  # SQLite: BEGIN IMMEDIATE
        async with conn.begin():
            await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)
