"""The worker's batching (issue 11, throughput): jobs taken in one round trip, store operations
of concurrent jobs in one transaction, and a pooled PostgreSQL connection pinged only after it
sat idle. Real Redis, SQLite and PostgreSQL; the speed itself is measured by `python -m bench
worker`, never asserted here."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from sqlalchemy import Connection, event, func, select, text

from gateway.melding import EVENT_CREATED, RoutingDecision
from gateway.queue_reclaim import Taker, running_key, take_jobs
from gateway.store import Store, deliveries, notifications
from gateway.store import core as store_core
from gateway.store import meldingen as meldingen_store
from gateway.store.duplicates import dedupe_locks
from gateway.store.schema import meldingen, status_history
from gateway.store.schema import notifications as notifications_table
from tests.support.data import web_draft

QUEUE = "gateway:test-batching"


async def test_jobs_are_taken_at_once_and_marked_as_the_workers_own(redis_client: aioredis.Redis) -> None:
    now = timestamp_ms()
    await redis_client.zadd(QUEUE, {"due-1": now - 5, "due-2": now - 1, "later": now + 60_000, "busy": now})
    await redis_client.psetex(in_progress_key_prefix + "busy", 60_000, "host:other")
    taker = Taker(QUEUE, "host:1", 70_000)

    scores = await take_jobs(redis_client, taker, ["due-1", "later", "busy", "gone", "due-2"], now)

    assert scores == [now - 5, None, None, None, now - 1]
    for taken in ("due-1", "due-2"):
        assert await redis_client.get(in_progress_key_prefix + taken) == b"host:1"
        assert 60_000 < await redis_client.pttl(in_progress_key_prefix + taken) <= 70_000
    assert await redis_client.get(in_progress_key_prefix + "busy") == b"host:other"  # left alone
    assert not await redis_client.exists(in_progress_key_prefix + "later")
    assert await redis_client.smembers(running_key(QUEUE, "host:1")) == {b"due-1", b"due-2"}
    assert await redis_client.pttl(running_key(QUEUE, "host:1")) > 60_000
    # taken now: a second worker's take finds them in progress
    assert await take_jobs(redis_client, Taker(QUEUE, "host:2", 70_000), ["due-1", "due-2"], now) == [
        None,
        None,
    ]


def _rename(conn: Connection, melding_id: str, subject: str) -> str:
    conn.execute(meldingen.update().where(meldingen.c.id == melding_id).values(subject=subject))
    return subject


def _fail_after_rename(conn: Connection, melding_id: str) -> None:
    _rename(conn, melding_id, "never committed")
    raise ValueError("refused")


def _subjects(conn: Connection) -> dict[str, str | None]:
    return {row.id: row.subject for row in conn.execute(select(meldingen.c.id, meldingen.c.subject))}


async def test_grouped_writes_commit_together_and_a_failing_one_undoes_only_itself(database_url: str) -> None:
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        ids = [(await store.intake(web_draft(n))).id for n in range(6)]
        batches: list[int] = []
        run_grouped = store_core._run_grouped

        def counting(conn: Connection, ops: list[store_core.GroupedOp]) -> list[object]:
            batches.append(len(ops))
            return run_grouped(conn, ops)

        store_core._run_grouped = counting  # type: ignore[assignment]
        try:
            results = await asyncio.gather(
                *(store.write_grouped(_rename, melding_id, f"s{n}") for n, melding_id in enumerate(ids[:5])),
                store.write_grouped(_fail_after_rename, ids[5]),
                return_exceptions=True,
            )
        finally:
            store_core._run_grouped = run_grouped  # type: ignore[assignment]

        assert results[:5] == [f"s{n}" for n in range(5)]
        assert isinstance(results[5], ValueError)
        assert batches[0] == 6  # one transaction for all six, then (it failed) each alone
        assert sorted(batches[1:]) == [1] * 6
        subjects = await store.read_grouped(_subjects)
        assert [subjects[i] for i in ids] == ["s0", "s1", "s2", "s3", "s4", None]
    finally:
        await store.close()


async def test_a_pooled_connection_that_died_while_idle_is_replaced(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(pg_database)
    await store.open()
    try:
        pid = await store.read(lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        admin = await asyncpg.connect(pg_database)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
        monkeypatch.setattr(store_core, "PING_AFTER_IDLE", 0.1)  # idle long enough: pinged, replaced
        count = await store.read(
            lambda conn: conn.execute(select(func.count()).select_from(meldingen)).scalar_one()
        )
        assert count >= 0
        new_pid = await store.read(lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert new_pid != pid
    finally:
        await store.close()


async def test_grouped_reads_give_what_each_read_gives(database_url: str) -> None:
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        ids = [(await store.intake(web_draft(n))).id for n in range(3)]
        created = [
            await store.write(deliveries.ensure, melding_id, EVENT_CREATED, key="created")
            for melding_id in ids
        ]
        await store.write(deliveries.succeeded, created[2].id, case_id="c-2", stage=None, first_status=None)
        wanted = [*ids, "no-such-melding", ids[0]]
        delivery_ids = [d.id for d in created] + [10**9]

        grouped = await asyncio.gather(
            *(store.read_grouped(meldingen_store.get, melding_id) for melding_id in wanted),
            *(store.read_grouped(meldingen_store.with_delivery, delivery_id) for delivery_id in delivery_ids),
        )

        alone = [await store.read(meldingen_store.get, melding_id) for melding_id in wanted]
        alone += [await store.read(meldingen_store.with_delivery, d) for d in delivery_ids]
        assert grouped == alone
        assert grouped[3] is None and grouped[0] is not None and grouped[0].id == ids[0]
        assert grouped[7][1] is None and grouped[5][1] is not None and grouped[5][1].id == ids[0]
        assert grouped[8] == (None, None)
    finally:
        await store.close()


async def test_a_grouped_write_asks_for_each_dedupe_lock_once(pg_database: str) -> None:
    """A batch takes its diensten's dedupe locks first; a routing in it that asks for them again
    (and for a partner dienst's) sends only what its transaction does not hold yet."""
    store = Store(pg_database, durable=False)
    await store.open()
    try:
        statements: list[str] = []

        def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        assert store._async is not None
        event.listen(store._async.sync_engine, "before_cursor_execute", seen)

        def route_like(conn: Connection, diensten: list[str]) -> int:
            dedupe_locks(conn, diensten)
            held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            return int(conn.execute(text(held)).scalar_one())

        held = await asyncio.gather(
            store.write_grouped(route_like, ["groen", "wegen"], lock="wegen"),
            store.write_grouped(route_like, ["netheid"], lock="netheid"),
            store.write_grouped(route_like, ["wegen"], lock="wegen"),
        )
        assert held == [3, 3, 3]  # wegen and netheid for the batch, groen for the first
        locking = [s for s in statements if "pg_advisory_xact_lock" in s]
        assert len(locking) == 2  # the batch's two at once, then groen alone
        assert await store.write(route_like, ["wegen", "groen"]) == 2  # alone: taken as asked
    finally:
        await store.close()


async def test_the_notification_decisions_of_a_batch_go_in_one_executemany(database_url: str) -> None:
    """Each job records its decision; a batch sends them as one statement, and a decision on the
    same (change, channel) later in the batch replaces the earlier one, as it would alone."""
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        ids = [(await store.intake(web_draft(n))).id for n in range(3)]
        history = await store.read(
            lambda conn: {
                r.melding_id: r.id
                for r in conn.execute(select(status_history.c.melding_id, status_history.c.id))
            }
        )
        await store.write(  # decided before: a later decision replaces it
            notifications.record,
            ids[0],
            history[ids[0]],
            "email",
            recipient=None,
            state="retrying",
            detail="x",
        )
        executed: list[tuple[str, bool]] = []

        def seen(
            _conn: object, _cursor: object, statement: str, _params: object, _ctx: object, many: bool
        ) -> None:
            executed.append((statement, many))

        engine = store._sqlite if store._sqlite is not None else store._async.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", seen)

        decisions = [
            (ids[0], "email", "skipped", "no relay"),
            (ids[1], "email", "retrying", "first"),
            (ids[2], "sms", "skipped", "no phone"),
            (ids[1], "email", "sent", "second"),  # the same change and channel: replaces 'first'
            (ids[1], "sms", "skipped", "no phone"),
        ]
        await asyncio.gather(
            *(
                store.write_grouped(
                    notifications.record, m, history[m], channel, recipient=None, state=state, detail=detail
                )
                for m, channel, state, detail in decisions
            )
        )

        inserts = [(s, many) for s, many in executed if "INSERT INTO notifications" in s]
        assert inserts and len(inserts) == 1 and inserts[0][1], inserts
        rows = await store.read(
            lambda conn: sorted(
                (r.melding_id, r.channel, r.state, r.detail)
                for r in conn.execute(select(notifications_table))
            )
        )
        assert rows == sorted(
            [
                (ids[0], "email", "skipped", "no relay"),
                (ids[1], "email", "sent", "second"),
                (ids[1], "sms", "skipped", "no phone"),
                (ids[2], "sms", "skipped", "no phone"),
            ]
        )
    finally:
        await store.close()


async def test_a_routing_and_its_first_delivery_are_one_statement_on_postgresql(database_url: str) -> None:
    """The worker's routing write: the melding's UPDATE and its first delivery's INSERT; on
    PostgreSQL in one statement (a round trip), with what the two statements give on SQLite."""
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        stored = await store.intake(web_draft(1))
        statements: list[str] = []

        def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        engine = store._sqlite if store._sqlite is not None else store._async.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", seen)
        decision = RoutingDecision("wegen", 0.91, "model", (("wegen", 0.91), ("groen", 0.05)))
        located = {"located": {"street": "Grote Markt", "number": "1"}, "street_key": "grote markt"}

        first = await store.write(
            meldingen_store.route, stored.id, decision, also=located, reference=stored.reference
        )
        written = [s for s in statements if "meldingen" in s or "deliveries" in s]  # not BEGIN
        assert len(written) == (1 if store.dialect == "postgresql" else 2), written
        again = await store.write(meldingen_store.route, stored.id, decision, also=located, reference="x")
        event.remove(engine, "before_cursor_execute", seen)

        assert first is not None and again is not None
        assert first.melding_id == stored.id and first.event == EVENT_CREATED and first.attempts == 0
        assert first.idempotency_key == f"{stored.id}:{EVENT_CREATED}:created"
        assert again.id == first.id  # the delivery is made once; the routing is written again
        melding = await store.read(meldingen_store.get, stored.id)
        assert melding is not None
        assert (melding.dienst, melding.confidence, melding.routed_by) == ("wegen", 0.91, "model")
        assert melding.alternatives == [("wegen", 0.91), ("groen", 0.05)]
        assert melding.located == {"street": "Grote Markt", "number": "1"}
        assert melding.stage == decision.stage
        assert [d.event for d in melding.deliveries] == [EVENT_CREATED]
    finally:
        await store.close()
