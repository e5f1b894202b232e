"""A melding's status history (what its reporter sees) and its stage in the pipeline.

The lowest of the store's aggregates: deliveries, follow-ups, duplicates and the channels that
close a melding at once all append status changes through `add_status`, which checks the
transition table under the melding's row lock.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.engine import Row

from gateway.melding import Stage, Status, StatusChange, StatusUpdate, can_transition
from gateway.store.schema import meldingen, status_history
from gateway.store.sql import still, utcnow


class InvalidTransition(Exception):
    def __init__(self, current: Status, new: Status):
        super().__init__(f"status cannot change from {current} to {new}")
        self.current = current
        self.new = new


def add_status(conn: Connection, melding_id: str, change: StatusUpdate) -> int | None:
    """Append a status change; None when the melding has that status already (a replayed callback).
    InvalidTransition when the transition table refuses it."""
    locked = _statements()[0]
    current = Status(conn.execute(locked, {"melding_id": melding_id}).scalar_one())
    if current == change.status:
        return None
    return _append(conn, melding_id, current, change, utcnow())


def _append(
    conn: Connection,
    melding_id: str,
    current: Status,
    change: StatusUpdate,
    now: datetime,
    stage: Stage | None = None,
    *,
    unless_moved: bool = False,
) -> int | None:
    """Set the status (and `stage`) read under the row lock as `current` to `change.status`, checked
    against the transition table, and append the history row: its id. `unless_moved`: `current` was
    not read; the UPDATE itself changes the melding only while its status is still `current` (the
    row lock and the comparison in one statement), and None means that it had moved on."""
    if not can_transition(current, change.status):
        raise InvalidTransition(current, change.status)
    _, set_status, append = _statements()
    values = {"melding_id": melding_id, "status": change.status.value, "updated_at": now}
    values = values if stage is None else {**values, "stage": stage.value}
    if unless_moved:
        if conn.execute(_set_status_from(), {**values, "current": current.value}).rowcount != 1:
            return None
    else:
        conn.execute(set_status, values)
    result = conn.execute(
        append,
        {
            "melding_id": melding_id,
            "status": change.status.value,
            "note": change.note,
            "planned_date": change.planned_date,
            "external_partner": change.external_partner,
            "source": change.source,
            "at": now,
        },
    )
    return int(result.scalar_one())


def first_status(
    conn: Connection, melding_id: str, status: Status, *, source: str, stage: Stage | None = None
) -> tuple[int, StatusChange] | None:
    """A melding's first status after intake (`status`, while it is still `ontvangen`: the case
    system may have set one already), with its `stage` in the same UPDATE; the history id and the
    change as `entry` would read it back, or None when it had moved on (then only the stage is set).
    Two statements where set_stage + add_status take four (a delivery's success runs it): the
    UPDATE compares the status itself instead of a SELECT ... FOR UPDATE before it."""
    now = utcnow()
    if status != Status.ONTVANGEN:
        change = StatusUpdate(status, source=source)
        history_id = _append(conn, melding_id, Status.ONTVANGEN, change, now, stage, unless_moved=True)
        if history_id is not None:
            return history_id, StatusChange(status=status, at=now, source=source)
    if stage is not None:  # moved on already: only the stage
        set_status = _statements()[1]
        conn.execute(set_status, {"melding_id": melding_id, "stage": stage.value, "updated_at": now})
    return None


@functools.cache
def _statements() -> tuple[Any, Any, Any]:
    """Built once: every delivery and status callback runs them (SQLAlchemy memoizes the cache
    key of a statement object, and building one costs more than running it)."""
    by_id = meldingen.c.id == bindparam("melding_id")
    return (
        select(meldingen.c.status).where(by_id).with_for_update(),
        update(meldingen).where(by_id),
        status_history.insert().returning(status_history.c.id),
    )


@functools.cache
def _set_status_from() -> Any:
    """The UPDATE of `_statements`, only while the status is still bind `current`."""
    by_id = meldingen.c.id == bindparam("melding_id")
    return update(meldingen).where(by_id, still(meldingen.c.status, bindparam("current")))


@functools.cache
def _one_entry() -> Any:
    return select(status_history).where(status_history.c.id == bindparam("history_id"))


def set_stage(conn: Connection, melding_id: str, stage: Stage) -> None:
    conn.execute(_statements()[1], {"melding_id": melding_id, "stage": stage.value, "updated_at": utcnow()})


def entry(conn: Connection, history_id: int) -> StatusChange | None:
    """One status change, by its history id (what the notify job announces)."""
    row = conn.execute(_one_entry(), {"history_id": history_id}).first()
    return status_change(row) if row else None


def status_change(row: Row[Any]) -> StatusChange:
    return StatusChange(
        status=Status(row.status),
        at=row.at,
        note=row.note,
        planned_date=row.planned_date,
        external_partner=row.external_partner,
        source=row.source,
    )
