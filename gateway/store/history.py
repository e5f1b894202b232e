"""A melding's status history (what its reporter sees) and its stage in the pipeline.

The lowest of the store's aggregates: deliveries, follow-ups, duplicates and the channels that
close a melding at once all append status changes through `add_status`, which checks the
transition table under the melding's row lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Row

from gateway.melding import Stage, Status, StatusChange, StatusUpdate, can_transition
from gateway.store.schema import meldingen, status_history
from gateway.store.sql import utcnow


class InvalidTransition(Exception):
    def __init__(self, current: Status, new: Status):
        super().__init__(f"status cannot change from {current} to {new}")
        self.current = current
        self.new = new


def add_status(conn: Connection, melding_id: str, change: StatusUpdate) -> int | None:
    """Append a status change; None when the melding has that status already (a replayed callback).
    InvalidTransition when the transition table refuses it."""
    current = Status(
        conn.execute(
            select(meldingen.c.status).where(meldingen.c.id == melding_id).with_for_update()
        ).scalar_one()
    )
    if current == change.status:
        return None
    if not can_transition(current, change.status):
        raise InvalidTransition(current, change.status)
    now = utcnow()
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id)
        .values(status=change.status.value, updated_at=now)
    )
    result = conn.execute(
        status_history.insert()
        .values(
            melding_id=melding_id,
            status=change.status.value,
            note=change.note,
            planned_date=change.planned_date,
            external_partner=change.external_partner,
            source=change.source,
            at=now,
        )
        .returning(status_history.c.id)
    )
    return int(result.scalar_one())


def set_stage(conn: Connection, melding_id: str, stage: Stage) -> None:
    conn.execute(
        update(meldingen).where(meldingen.c.id == melding_id).values(stage=stage.value, updated_at=utcnow())
    )


def entry(conn: Connection, history_id: int) -> StatusChange | None:
    """One status change, by its history id (what the notify job announces)."""
    row = conn.execute(select(status_history).where(status_history.c.id == history_id)).first()
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
