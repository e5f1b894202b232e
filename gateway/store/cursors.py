"""Read positions of polled case systems (TOPdesk): one opaque cursor per adapter, so that the
poller, on whichever worker runs it next, resumes where the last one stopped."""

from __future__ import annotations

from sqlalchemy import Connection, select

from gateway.store.schema import case_system_cursors
from gateway.store.sql import insert, utcnow


def get(conn: Connection, name: str) -> str | None:
    return conn.execute(
        select(case_system_cursors.c.cursor).where(case_system_cursors.c.name == name)
    ).scalar_one_or_none()


def put(conn: Connection, name: str, cursor: str) -> None:
    now = utcnow()
    conn.execute(
        insert(conn, case_system_cursors)
        .values(name=name, cursor=cursor, updated_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"cursor": cursor, "updated_at": now})
    )
