"""A fresh store for every test, without migrating one for every test.

Migrating an empty store (every Alembic revision) took 0.45 s on PostgreSQL and 0.1 s on SQLite,
before each of the ~940 tests that open a store: most of their setup, and two minutes of the
suite's fifteen. Now each test process migrates once:

- PostgreSQL: the test database is migrated when first asked for. Before each test its rows are
  deleted and its sequences restarted, once the schema is seen to be the one migrated: a
  fingerprint of its tables (and their storage options), columns, indexes, constraints, triggers,
  functions, sequences and Alembic revision, and of which tables have statistics. A test that changed
  the schema, or after which a table was analysed or vacuumed, gets it dropped and migrated again.
- SQLite: a migrated file is made once and copied for each test.

Either way a test starts from what a first start leaves: the schema at head and no rows. A test that
must see the store empty (what the migrations build from nothing) is marked `empty_store`.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import asyncpg

from gateway.store import Store

# Everything in the public schema that a test could change, and whether its tables have statistics;
# sorted, hashed.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
    SELECT concat_ws(':', 'c', table_name, column_name, data_type, column_default, is_nullable,
                     generation_expression) AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT concat_ws(':', 'i', indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT concat_ws(':', 'k', conrelid::regclass::text, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT concat_ws(':', 't', tgrelid::regclass::text, tgname, tgenabled::text,
                               tgfoid::regproc::text)
      FROM pg_trigger WHERE NOT tgisinternal
       AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
    UNION ALL SELECT concat_ws(':', 'f', proname, md5(prosrc)) FROM pg_proc
      WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT concat_ws(':', 's', sequencename) FROM pg_sequences WHERE schemaname = 'public'
    UNION ALL SELECT concat_ws(':', 'v', viewname, md5(definition)) FROM pg_views WHERE schemaname = 'public'
    UNION ALL SELECT concat_ws(':', 'r', relname, relkind::text, array_to_string(reloptions, ','))
      FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'm', 'f')
    -- A table analysed or vacuumed plans unlike a new one (the planner guesses 10 pages for a table
    -- never vacuumed): then the schema is built again.
    UNION ALL SELECT concat_ws(':', 'a', relname) FROM pg_stat_user_tables WHERE schemaname = 'public'
       AND coalesce(last_analyze, last_autoanalyze, last_vacuum, last_autovacuum) IS NOT NULL
) AS schema_items
"""
_MIGRATED: dict[str, str] = {}  # database URL -> fingerprint of its schema as migrated


async def _migrate(url: str) -> None:
    store = Store(url)
    await store.open()  # the product's own path: Alembic to head
    await store.close()


async def _fingerprint(conn: asyncpg.Connection) -> str:
    exists = await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    revisions = await conn.fetch("SELECT version_num FROM alembic_version") if exists else []
    return f"{await conn.fetchval(_FINGERPRINT)} {sorted(r['version_num'] for r in revisions)}"


async def reset_postgres(url: str, *, empty: bool = False, rebuild: bool = False) -> None:
    """The database at `url` as a first start leaves it (or with an empty schema, `empty`; built
    again whatever the fingerprint says, `rebuild`: for a test of the planner's choices). A
    connection an earlier test left open (a process it started, an engine it did not dispose of)
    would hold its locks and keep the reset waiting for ever, so such connections are ended first,
    and named in a warning: a leak to look into."""
    conn = await asyncpg.connect(url)
    try:
        leftovers = await conn.fetch(
            "SELECT pid, application_name, state, left(query, 120) AS query, pg_terminate_backend(pid)"
            " AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if leftovers:
            warnings.warn(
                f"connections left open by an earlier test: {[dict(r) for r in leftovers]}", stacklevel=1
            )
        await conn.execute("SET lock_timeout = '30s'")  # a lock still held fails the test, never hangs it
        if not (empty or rebuild) and url in _MIGRATED and await _fingerprint(conn) == _MIGRATED[url]:
            await _empty_tables(conn)
            return
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    if not empty:
        await _migrate(url)
        conn = await asyncpg.connect(url)
        try:
            _MIGRATED[url] = await _fingerprint(conn)
        finally:
            await conn.close()


async def _empty_tables(conn: asyncpg.Connection) -> None:
    tables = [
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    ]
    if tables:
        # DELETE, not TRUNCATE: a TRUNCATE of the 21 tables syncs new files, 0.8 s here; DELETE takes
        # 20 ms. Replica mode skips the foreign-key checks (every table is emptied) and the triggers.
        try:
            await conn.execute("SET session_replication_role = replica")
        except asyncpg.InsufficientPrivilegeError:  # not a superuser: TRUNCATE, slow but sure
            await conn.execute(f"TRUNCATE {', '.join(f'public.{_quoted(t)}' for t in tables)} CASCADE")
        else:
            await conn.execute("; ".join(f"DELETE FROM public.{_quoted(t)}" for t in tables))
            await conn.execute("SET session_replication_role = DEFAULT")
    # Every sequence, those no column owns too (TRUNCATE restarts only the owned ones).
    sequences = await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    if sequences:
        restarts = [f"ALTER SEQUENCE public.{_quoted(r['sequencename'])} RESTART" for r in sequences]
        await conn.execute("; ".join(restarts))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def migrated_sqlite_file(directory: Path) -> Path:
    """A SQLite store migrated to head, in `directory` (made once a test process; tests copy it)."""
    path = directory / "migrated.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    leftovers = [p for p in directory.iterdir() if p != path]
    assert not leftovers, f"the migrated SQLite store left {leftovers}: a copy would miss them"
    return path
