"""The test store's reset (tests/support/fresh_store.py): each test starts as from a first start,
though the schema is migrated once a test process."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from gateway.store import Store
from tests.support.data import web_draft
from tests.support.fresh_store import _fingerprint, reset_postgres


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_no_row_and_no_used_sequence_is_left_for_the_next_test(database_url: str) -> None:
    for _ in range(2):  # the second round starts from what the first left
        store = Store(database_url)
        await store.open()
        try:
            first = await store.intake(web_draft(1))
            assert first.reference.endswith("000001"), first.reference  # the year's count starts at 1
            await store.intake(web_draft(2))
        finally:
            await store.close()
        if database_url.startswith("sqlite"):
            return  # a copy of the migrated file each test: nothing to reset within one
        await reset_postgres(database_url)


async def _fingerprint_of(url: str, change: str | None = None) -> str:
    conn = await asyncpg.connect(url)  # its own: a reset ends every connection left open
    try:
        if change:
            await conn.execute(change)
        return await _fingerprint(conn)
    finally:
        await conn.close()


async def test_a_changed_schema_or_analysed_table_is_built_again(pg_database: str) -> None:
    await reset_postgres(pg_database)
    migrated = await _fingerprint_of(pg_database)
    seen = [migrated]
    for change in (  # each on top of the last, each seen: one rebuild for all (a rebuild migrates)
        "ALTER TABLE meldingen ADD COLUMN left_behind integer",
        "ALTER TABLE meldingen SET (autovacuum_enabled = false)",
        "CREATE INDEX left_behind ON meldingen (text)",
        "ANALYZE meldingen",
    ):
        seen.append(await _fingerprint_of(pg_database, change))
        assert seen[-1] not in seen[:-1], change
    await reset_postgres(pg_database)
    assert await _fingerprint_of(pg_database) == migrated
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = 'meldingen'"
    assert "left_behind" not in {r["column_name"] for r in await _fetch(pg_database, sql)}


@pytest.mark.empty_store
async def test_a_test_marked_empty_store_gets_no_schema(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        assert not Path(database_url.removeprefix("sqlite:///")).exists()
        return
    assert await _fetch(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
