"""Store and queue internals that the rest relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from sqlalchemy import event

from gateway import clock
from gateway.config import Settings
from gateway.melding import (
    EVENT_CREATED,
    EVENT_UPDATED,
    DeliveryState,
    Stage,
    Status,
    StatusUpdate,
)
from gateway.queue import enqueue_many
from gateway.store import Store, attempts, deliveries
from gateway.store import meldingen as meldingen_store
from gateway.store.attempts import Attempt
from gateway.store.duplicates import REPORTER_KEY, succeeded_and_waiting
from gateway.store.history import add_status
from gateway.store.migrate import head_revisions
from gateway.store.schema import is_search_index, metadata
from tests.support.data import web_draft


@pytest.mark.empty_store
async def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    store = Store(database_url)
    await store.open()
    try:
        assert await store.schema_revisions() == head_revisions()

        def diff(conn: Any) -> list[Any]:
            # The search index is dialect-specific DDL that SQLAlchemy cannot declare (schema.py):
            # its objects alone are left out; tests/test_desk_search.py checks that it works.
            opts = {"include_name": lambda name, _type, _parent: not is_search_index(name)}
            return compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)

        assert await store.read(diff) == []
        await store.open()  # a second start migrates nothing and fails nothing
    finally:
        await store.close()


async def test_batched_enqueue_refuses_duplicate_job_ids_like_arq(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    pool = ArqRedis(ConnectionPool.from_url(settings.redis_url))
    try:
        assert (
            await enqueue_many(
                pool, "q", [("process:a", "process", ("a",)), ("process:b", "process", ("b",))]
            )
            == 2
        )
        assert await enqueue_many(pool, "q", [("process:a", "process", ("a",))]) == 0
        assert await pool.enqueue_job("process", "a", _job_id="process:a", _queue_name="q") is None
        assert sorted(await pool.zrange("q", 0, -1)) == [b"process:a", b"process:b"]
        [job] = [j for j in await pool.queued_jobs(queue_name="q") if j.job_id == "process:a"]
        assert job.function == "process" and job.args == ("a",)
    finally:
        await pool.aclose()


async def test_a_deliverys_first_status_is_recorded_alike_on_both_stores(database_url: str) -> None:
    """`succeeded_change` as the worker calls it: the delivery delivered, its attempt numbered on
    from those logged, the melding moved from ontvangen with its history entry; on PostgreSQL in
    one statement. A melding the case system moved on already only gets its stage."""
    store = Store(database_url)
    await store.open()
    try:
        statements = _pg_statements(store)
        made = []
        for n in range(2):
            stored = await store.intake(web_draft(n, "a@example.be"))
            delivery = await store.write(deliveries.ensure, stored.id, EVENT_CREATED, key="created")
            failed = Attempt(clock.now(), attempts.TRANSIENT, http_status=503, error="busy")
            await store.write(
                deliveries.failed, delivery.id, error="busy", dead=False, next_attempt_at=None, attempt=failed
            )
            if n == 1:  # the case system set a status before the success came back
                moved_on = StatusUpdate(Status.IN_BEHANDELING, source="casesystem")
                await store.write(add_status, stored.id, moved_on)
            statements.clear()
            ok = Attempt(clock.now(), attempts.OK, case_id=f"C{n}")
            made.append(
                await store.write(
                    deliveries.succeeded_change,
                    delivery.id,
                    case_id=f"C{n}",
                    stage=Stage.DELIVERED,
                    first_status=Status.GEREGISTREERD,
                    attempt=ok,
                    melding_id=stored.id,
                )
            )
            if store._async is not None and n == 0:
                assert len(statements) == 1
            got = await store.read(meldingen_store.get, stored.id)
            assert got is not None and got.stage == Stage.DELIVERED
            assert [(d.state, d.case_id) for d in got.deliveries] == [(DeliveryState.DELIVERED, f"C{n}")]
            logged = await store.read(attempts.of_melding, stored.id)
            assert [(a.attempt, a.outcome, a.case_id) for a in logged] == [
                (1, "transient", None),
                (2, "ok", f"C{n}"),
            ]
            statuses = [(c.status, c.source) for c in got.status_history]
            if n == 0:
                assert made[0] is not None and made[0][1].status == Status.GEREGISTREERD
                assert got.status == Status.GEREGISTREERD
                assert statuses[-1] == (Status.GEREGISTREERD, "worker")
            else:
                assert made[1] is None
                assert got.status == Status.IN_BEHANDELING
                assert statuses[-1] == (Status.IN_BEHANDELING, "casesystem")
    finally:
        await store.close()


def _pg_statements(store: Store) -> list[str]:
    """The statements a PostgreSQL store sends from now on (empty for SQLite: no round trips)."""
    statements: list[str] = []
    if store._async is not None:

        def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(store._async.sync_engine, "before_cursor_execute", seen)
    return statements


async def test_a_success_reads_the_extra_reporters_waiting_for_its_case(database_url: str) -> None:
    """`succeeded_and_waiting` (the worker's deliver step): the updates that wait for the master's
    case come back with the success; on PostgreSQL from the one statement that records it."""
    store = Store(database_url)
    await store.open()
    try:
        statements = _pg_statements(store)
        master, other, duplicate = [(await store.intake(web_draft(n, "a@example.be"))).id for n in range(3)]
        waiting = await store.write(
            deliveries.ensure, master, EVENT_UPDATED, key=REPORTER_KEY + duplicate, payload={"n": 1}
        )
        await store.write(deliveries.ensure, other, EVENT_UPDATED, key="split:1", payload={})  # no reporter
        for melding_id, expected in ((master, [waiting]), (other, [])):
            created = await store.write(deliveries.ensure, melding_id, EVENT_CREATED, key="created")
            statements.clear()
            ok = Attempt(clock.now(), attempts.OK, case_id="C1")
            done = await store.write(succeeded_and_waiting, created, "C1", attempt=ok)
            assert done.history_id is not None
            assert [(d.id, d.idempotency_key, d.payload) for d in done.waiting] == [
                (d.id, d.idempotency_key, d.payload) for d in expected
            ]
            if store._async is not None:
                assert len(statements) == 1
    finally:
        await store.close()


def test_migration_0020_indexes_a_melding_once_it_leaves_received_and_back(tmp_path: Any) -> None:
    """SQLite: 0020 takes the meldingen waiting for a worker out of the FTS index (the intake no
    longer indexes); its downgrade puts them back, as 0018's triggers would have kept them."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from gateway.store.migrate import alembic_config

    def indexed(conn: Any) -> set[str]:
        return {r.melding_id for r in conn.execute(text("SELECT melding_id FROM meldingen_search"))}

    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0019")
        for n, stage in enumerate(("received", "routed")):
            conn.execute(
                text(
                    "INSERT INTO meldingen (id, reference, channel, received_at, text, status, stage,"
                    " tracking_token, updated_at) VALUES (:id, :ref, 'web', '2026-12-05 01:00:00',"
                    " 'Losse tegel', 'ontvangen', :stage, :token, '2026-12-05 01:00:00')"
                ),
                {"id": stage, "ref": f"1777-2026-00000{n}", "stage": stage, "token": f"t{n}"},
            )
        assert indexed(conn) == {"received", "routed"}
        command.upgrade(alembic_config(conn), "0020")
        assert indexed(conn) == {"routed"}
        conn.execute(text("UPDATE meldingen SET stage = 'delivered' WHERE id = 'routed'"))
        conn.execute(text("UPDATE meldingen SET text = 'Losse stoeptegel' WHERE id = 'received'"))
        assert indexed(conn) == {"routed"}  # still waiting: a new text stays out too
        command.downgrade(alembic_config(conn), "0019")
        assert indexed(conn) == {"received", "routed"}
        hits = conn.execute(
            text("SELECT count(*) FROM meldingen_search WHERE meldingen_search MATCH 'stoeptegel'")
        )
        assert hits.scalar_one() == 1
    engine.dispose()


def test_migration_0022_writes_every_stored_reporter_phone_in_e164(tmp_path: Any) -> None:
    """Numbers stored as their reporters wrote them (the API and e-mail did) become E.164, so that
    search and the directory find them; what is no number stays as it was."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from gateway.store.migrate import alembic_config

    written = {"a": "0470/12.34.56", "b": "+32486112233", "c": "anonymous", "d": None, "e": "056 27 77 77"}
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0021")
        for n, (key, phone) in enumerate(written.items()):
            conn.execute(
                text(
                    "INSERT INTO meldingen (id, reference, channel, received_at, text, status, stage,"
                    " tracking_token, updated_at, reporter_phone) VALUES (:id, :ref, 'api',"
                    " '2026-12-05 01:00:00', 'Losse tegel', 'ontvangen', 'received', :token,"
                    " '2026-12-05 01:00:00', :phone)"
                ),
                {"id": key, "ref": f"1777-2026-00000{n}", "token": f"t{n}", "phone": phone},
            )
        command.upgrade(alembic_config(conn), "0022")
        stored = {
            r.id: r.reporter_phone for r in conn.execute(text("SELECT id, reporter_phone FROM meldingen"))
        }
    engine.dispose()
    assert stored == {
        "a": "+32470123456",
        "b": "+32486112233",
        "c": "anonymous",
        "d": None,
        "e": "+3256277777",
    }


async def test_the_meldingen_indexes_of_optional_columns_hold_only_rows_that_have_them(
    database_url: str,
) -> None:
    """Migration 0021: the intake's insert skips the b-trees of columns it leaves NULL, and the
    queries those indexes serve still use them (SQLite's plans; PostgreSQL's definitions)."""
    from sqlalchemy import text

    from gateway.store.duplicates import _candidates
    from gateway.store.sms import _CONVERSATION

    partial = {
        "ix_meldingen_dedupe_cell": "dienst",
        "ix_meldingen_dedupe_street": "dienst",
        "ix_meldingen_duplicate_of": "duplicate_of",
        "ix_meldingen_reporter_phone": "reporter_phone",
        "ix_meldingen_reporter_email": "reporter_email",
        "ix_meldingen_nrn": "national_register_number",
    }
    store = Store(database_url)
    await store.open()
    try:

        def definitions(conn: Any) -> dict[str, str]:
            if conn.dialect.name == "sqlite":
                sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'meldingen'"
            else:
                sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'meldingen'"
            return {name: " ".join(ddl.split()) for name, ddl in conn.execute(text(sql)) if ddl}

        found = await store.read(definitions)
        for name, column in partial.items():
            assert found[name].replace("(", "").replace(")", "").endswith(f"WHERE {column} IS NOT NULL"), (
                found[name]
            )
        assert "WHERE" not in found["ix_meldingen_received"]

        def plans(conn: Any) -> list[str]:
            if conn.dialect.name != "sqlite":
                return []
            out, when = [], datetime(2026, 1, 1, tzinfo=UTC)
            for statement, params in (
                (_CONVERSATION, {"number": "+32470000000", "since": when}),
                (
                    _candidates(True, True),
                    {
                        "dienst": "wegen",
                        "cells": ["a"],
                        "keys": ["b"],
                        "since": when,
                        "until": when,
                        "exclude": "x",
                    },
                ),
            ):
                bound = statement.params(**params).compile(conn, compile_kwargs={"literal_binds": True})
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {bound}")
                out.append(" | ".join(str(r[-1]) for r in plan))
            return out

        for plan in await store.read(plans):
            assert "SCAN meldingen" not in plan and "USING INDEX ix_meldingen_" in plan, plan
    finally:
        await store.close()
