"""A melding's status moves take it by its primary key, even while PostgreSQL's statistics are
stale: right after a burst (autovacuum analyses a minute later) they say that no melding is
`ontvangen`, and a plain `status = 'ontvangen'` then made the planner walk the status index over
the whole waiting backlog once per melding moved (O(backlog) each, a backlog replayed in O(n²))."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, event

from gateway import clock
from gateway.melding import EVENT_CREATED, Stage, Status
from gateway.store import Store, attempts, deliveries
from gateway.store.attempts import Attempt
from gateway.store.duplicates import succeeded_and_waiting
from gateway.store.history import first_status
from tests.support.data import web_draft
from tests.support.fresh_store import reset_postgres

BACKLOG = 2000
_COPY = (
    "INSERT INTO meldingen (id, reference, channel, received_at, text, status, stage, tracking_token,"
    " updated_at) SELECT left(id, 24) || '{tag}' || g, left(reference, 24) || '{tag}' || g, channel,"
    " received_at, text, '{status}', stage, tracking_token || '{tag}' || g, updated_at"
    " FROM meldingen, generate_series(1, {n}) g WHERE id = '{model}'"
)


def _stale_statistics(conn: Connection, model: str) -> None:
    """Statistics taken while every melding was closed, then a backlog of `ontvangen` ones."""
    conn.exec_driver_sql("ALTER TABLE meldingen SET (autovacuum_enabled = false)")  # no analyse meanwhile
    conn.exec_driver_sql(_COPY.format(tag="c", status=Status.BEHANDELD.value, n=40, model=model))
    conn.exec_driver_sql(f"UPDATE meldingen SET status = '{Status.BEHANDELD.value}' WHERE id = '{model}'")
    conn.exec_driver_sql("ANALYZE meldingen")
    conn.exec_driver_sql(_COPY.format(tag="w", status=Status.ONTVANGEN.value, n=BACKLOG, model=model))


def _plans(conn: Connection, statements: list[tuple[str, Any]]) -> list[str]:
    return [
        "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params))
        for sql, params in statements
    ]


@pytest.fixture
async def pg_store(pg_database: str) -> Any:
    await reset_postgres(pg_database, rebuild=True)  # new tables: no statistics but the test's own
    store = Store(pg_database, durable=False, on_loop=False)
    await store.open()
    yield store
    await store.close()


async def test_status_moves_take_the_melding_by_its_key_while_statistics_are_stale(pg_store: Store) -> None:
    store = pg_store
    await store.write(_stale_statistics, (await store.intake(web_draft(99))).id)
    ids = [(await store.intake(web_draft(n))).id for n in range(5)]
    created = [await store.write(deliveries.ensure, m, EVENT_CREATED, key="created") for m in ids[:4]]
    seen: list[tuple[str, Any]] = []
    engine = store._async.sync_engine  # type: ignore[union-attr]

    def keep(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        if "UPDATE meldingen" in sql:
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", keep)
    ok = Attempt(clock.now(), attempts.OK, case_id="C")
    # A batch's successes (one statement), one success alone, and a first status by itself.
    batch = [store.write_grouped(succeeded_and_waiting, d, "C", attempt=ok) for d in created[:3]]
    await asyncio.gather(*batch)
    await store.write(succeeded_and_waiting, created[3], "C", attempt=ok)
    await store.write(first_status, ids[4], Status.GEREGISTREERD, source="worker", stage=Stage.ROUTED)
    event.remove(engine, "before_cursor_execute", keep)

    assert sum("unnest" in sql for sql, _ in seen) == 1 and len(seen) == 3, [s for s, _ in seen]
    for plan in await store.read(_plans, seen):
        assert "meldingen_pkey" in plan and "ix_meldingen_status" not in plan, plan
