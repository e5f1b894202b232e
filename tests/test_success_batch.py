"""A batch's delivery successes (the worker's deliver step, `succeeded_and_waiting`) one after
the other in a group commit: on PostgreSQL one statement for all (`success_pg.succeeded_many`),
each job with what it alone would get; on SQLite, and whatever cannot go together, one by one."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from sqlalchemy import event, select

from gateway import clock
from gateway.melding import (
    EVENT_CREATED,
    EVENT_UPDATED,
    Stage,
    Status,
    StatusUpdate,
)
from gateway.store import Store, attempts, deliveries
from gateway.store import meldingen as meldingen_store
from gateway.store.attempts import Attempt
from gateway.store.duplicates import REPORTER_KEY, succeeded_and_waiting
from gateway.store.history import add_status
from gateway.store.schema import delivery_attempts, status_history
from tests.support.data import web_draft


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    engine = store._sqlite if store._sqlite is not None else store._async.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


async def test_a_batch_of_successes_is_one_statement_with_each_jobs_own_result(database_url: str) -> None:
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        ids = [(await store.intake(web_draft(n))).id for n in range(4)]
        master, plain, moved_on, tried = ids
        waiting = await store.write(
            deliveries.ensure, master, EVENT_UPDATED, key=REPORTER_KEY + "x", payload={"n": 1}
        )
        await store.write(deliveries.ensure, plain, EVENT_UPDATED, key="split:1", payload={})  # no reporter
        # The case system set a status already: only the stage moves, no history row.
        await store.write(add_status, moved_on, StatusUpdate(Status.IN_BEHANDELING, source="case_system"))
        created = [await store.write(deliveries.ensure, m, EVENT_CREATED, key="created") for m in ids]
        failed = Attempt(clock.now(), attempts.TRANSIENT, http_status=503, error="busy")
        await store.write(attempts.of_delivery, created[3].id, failed)  # its success is attempt 2
        statements = _statements(store)

        done = await asyncio.gather(
            *(
                store.write_grouped(
                    succeeded_and_waiting,
                    d,
                    f"C{n}",
                    attempt=Attempt(clock.now(), attempts.OK, case_id=f"C{n}"),
                )
                for n, d in enumerate(created)
            )
        )

        writes = [s for s in statements if "deliveries" in s or "status_history" in s]
        if store.dialect == "postgresql":
            assert len(writes) == 1 and "unnest" in writes[0], writes
        else:
            assert len(writes) > 4
        assert [d.history_id is not None for d in done] == [True, True, False, True]
        assert [[w.id for w in d.waiting] for d in done] == [[waiting.id], [], [], []]
        assert done[0].waiting[0].payload == {"n": 1} and done[0].waiting[0].reference

        def state(conn: Any) -> Any:
            history = {
                r.id: (r.melding_id, r.status, r.source)
                for r in conn.execute(select(status_history).where(status_history.c.source == "worker"))
            }
            tries = sorted(
                (r.delivery_id, r.attempt, r.outcome, r.case_id)
                for r in conn.execute(select(delivery_attempts))
            )
            return history, tries

        history, tries = await store.read(state)
        assert {done[n].history_id: history[done[n].history_id] for n in (0, 1, 3)} == {
            done[n].history_id: (ids[n], Status.GEREGISTREERD.value, "worker") for n in (0, 1, 3)
        }
        assert len(history) == 3 and done[0].history_id < done[1].history_id < done[3].history_id
        assert tries == sorted(
            [(created[n].id, 1, attempts.OK, f"C{n}") for n in range(3)]
            + [(created[3].id, 1, attempts.TRANSIENT, None), (created[3].id, 2, attempts.OK, "C3")]
        )
        for n, melding_id in enumerate(ids):
            melding = await store.read(meldingen_store.get, melding_id)
            assert melding is not None and melding.stage == Stage.DELIVERED
            assert melding.status == (Status.IN_BEHANDELING if n == 2 else Status.GEREGISTREERD)
            first = next(d for d in melding.deliveries if d.event == EVENT_CREATED)
            assert (first.state.value, first.case_id, first.attempts) == ("delivered", f"C{n}", 1)
            assert first.last_error is None
    finally:
        await store.close()


async def test_successes_that_cannot_go_together_run_one_by_one(database_url: str) -> None:
    """An update's delivery among them: each its own statements, each its own result."""
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        a, b = [(await store.intake(web_draft(n))).id for n in range(2)]
        first = await store.write(deliveries.ensure, a, EVENT_CREATED, key="created")
        update = await store.write(deliveries.ensure, b, EVENT_UPDATED, key="split:1", payload={})
        statements = _statements(store)
        ok = Attempt(clock.now(), attempts.OK, case_id="C")
        done = await asyncio.gather(
            store.write_grouped(succeeded_and_waiting, first, "C", attempt=ok),
            store.write_grouped(succeeded_and_waiting, update, "C", attempt=ok),
        )
        assert not any("unnest" in s for s in statements)
        assert done[0].history_id is not None and done[1].history_id is None
        melding = await store.read(meldingen_store.get, b)
        assert melding is not None and [d.state.value for d in melding.deliveries] == ["delivered"]
    finally:
        await store.close()


async def test_a_failing_success_in_a_batch_fails_alone(database_url: str) -> None:
    """A success that the database refuses (its delivery is gone: the attempt's foreign key) makes
    the batch's statement fail; the batch is run again one by one, and only that job sees an error."""
    store = Store(database_url, durable=False, on_loop=database_url.startswith("sqlite"))
    await store.open()
    try:
        ids = [(await store.intake(web_draft(n))).id for n in range(3)]
        created = [await store.write(deliveries.ensure, m, EVENT_CREATED, key="created") for m in ids]
        gone = dataclasses.replace(created[1], id=created[2].id + 1000)
        ok = Attempt(clock.now(), attempts.OK, case_id="C")
        statements = _statements(store)
        done = await asyncio.gather(
            *(
                store.write_grouped(succeeded_and_waiting, d, "C", attempt=ok)
                for d in (created[0], gone, created[2])
            ),
            return_exceptions=True,
        )
        assert isinstance(done[1], Exception)
        # On PostgreSQL the batch's one statement was tried first, then each alone.
        assert sum("unnest" in s for s in statements) == (1 if store.dialect == "postgresql" else 0)
        assert not isinstance(done[0], Exception) and done[0].history_id is not None
        assert not isinstance(done[2], Exception) and done[2].history_id is not None
        statuses = [(await store.read(meldingen_store.get, m)).status for m in ids]  # type: ignore[union-attr]
        assert statuses == [Status.GEREGISTREERD, Status.ONTVANGEN, Status.GEREGISTREERD]
    finally:
        await store.close()
