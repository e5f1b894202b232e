"""The worker's duplicate candidates: a melding's grid cells and its streets together are served by
the two dedupe indexes, never by a scan of every melding in the time window (issue 14: dedupe
throughput; as one WHERE with an OR, SQLite walked `ix_meldingen_stage_received`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event

from gateway.melding import Stage, Status
from gateway.store import Store
from gateway.store.duplicates import dedupe_candidates
from gateway.store.schema import meldingen
from gateway.store.sql import insert_many

T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
DIENSTEN = ("groen", "verlichting", "wegen", "nette_stad")


def _rows(count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        rows.append(
            {
                "id": f"m{n:05d}",
                "reference": f"TEST-{n:05d}",
                "channel": "web",
                "received_at": T0 + timedelta(minutes=n),
                "text": "tak op het voetpad",
                "dienst": DIENSTEN[n % 4],
                "status": Status.GEREGISTREERD.value,
                "stage": Stage.DELIVERED.value,
                "tracking_token": f"t{n}",
                "updated_at": T0,
                "street_key": f"straat{n % 50}",
                "geo_cell": f"cell{n % 70}",
            }
        )
    return rows


def _query(conn: Connection, cells: list[str], keys: list[str]) -> list[Any]:
    return dedupe_candidates(
        conn,
        dienst="groen",
        cells=cells,
        keys=keys,
        since=T0,
        until=T0 + timedelta(days=30),
        exclude="m00000",
    )


async def test_cells_and_streets_together_find_what_each_finds(database_url: str) -> None:
    store = Store(database_url)
    await store.open()
    try:
        rows = _rows(3000)
        await store.write(insert_many, meldingen, rows)

        def expected(cells: set[str], keys: set[str]) -> set[str]:
            return {
                r["id"]
                for r in rows
                if r["dienst"] == "groen"
                and r["id"] != "m00000"
                and (r["geo_cell"] in cells or r["street_key"] in keys)
            }

        both = await store.read(lambda conn: _query(conn, ["cell4", "cell12"], ["straat12"]))
        cells_only = await store.read(lambda conn: _query(conn, ["cell4", "cell12"], []))
        keys_only = await store.read(lambda conn: _query(conn, [], ["straat12"]))
        assert sorted(r.id for r in both) == sorted(expected({"cell4", "cell12"}, {"straat12"}))
        assert {r.id for r in both} == {r.id for r in cells_only} | {r.id for r in keys_only}
        assert len(both) == len({r.id for r in both})  # a melding in both blocks comes once
        assert {r.id for r in cells_only} & {r.id for r in keys_only}  # the case was there to see
    finally:
        await store.close()


async def test_sqlite_serves_cells_and_streets_from_the_dedupe_indexes(tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'gateway.db'}")
    await store.open()
    try:
        await store.write(insert_many, meldingen, _rows(3000))
        await store.write(lambda conn: conn.exec_driver_sql("ANALYZE"))

        def plan(conn: Connection) -> str:
            seen: list[tuple[str, Any]] = []

            def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                seen.append((statement, parameters))

            event.listen(conn, "before_cursor_execute", keep)
            try:
                _query(conn, ["cell4", "cell12"], ["straat12"])
            finally:
                event.remove(conn, "before_cursor_execute", keep)
            statement, parameters = seen[-1]
            explained = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return " | ".join(row[-1] for row in explained)

        found = await store.read(plan)
        assert "ix_meldingen_dedupe_cell" in found and "ix_meldingen_dedupe_street" in found, found
        assert "ix_meldingen_stage_received" not in found, found
    finally:
        await store.close()
