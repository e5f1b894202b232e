"""Every attempt to hand something over: one row per try of a case-system delivery or of a portal
push (table `delivery_attempts`), written in the transaction that records the try's outcome on
the delivery or push itself, so the log and the counters never disagree.

The deliveries and pushes keep counts and the last error (what the retry logic needs); this is
the history the ombudsman's dossier and `gateway deliveries --attempts` show.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select

from gateway.store.schema import deliveries, delivery_attempts, meldingen, status_pushes
from gateway.store.sql import utcnow

OK = "ok"
TRANSIENT = "transient"  # tried again later (also a paused delivery: our credentials refused)
PERMANENT = "permanent"  # refused for good: dead at once
CRASHED = "crashed"  # the attempt raised something unforeseen (a bug, not the far side's answer)
OUTCOMES = (OK, TRANSIENT, PERMANENT, CRASHED)
ERROR_CHARS = 1000  # a case system's error page can be long; its gist fits in this


@dataclass(frozen=True)
class Attempt:
    """What one try gave, as the job saw it; the store adds its number and end time."""

    started_at: datetime
    outcome: str
    http_status: int | None = None
    error: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    delivery_id: int | None
    push_id: int | None
    what: str  # the delivery's event (`melding.created`), or `push:<feed>`
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    http_status: int | None
    error: str | None
    case_id: str | None


@functools.cache
def _insert(owner: str) -> Any:
    """Built once (the worker's hot path). The number continues across a manual retry, which
    resets the delivery's own count: it is counted here, from the rows already logged."""
    column = delivery_attempts.c[owner]
    source = deliveries if owner == "delivery_id" else status_pushes
    previous = select(func.count()).where(column == bindparam("owner_id")).scalar_subquery()
    melding = select(source.c.melding_id).where(source.c.id == bindparam("owner_id")).scalar_subquery()
    return insert(delivery_attempts).values(
        {owner: bindparam("owner_id"), "melding_id": melding, "attempt": previous + 1}
    )


def bind_values(owner_id: int, attempt: Attempt) -> dict[str, Any]:
    """The parameters of the attempt's INSERT (also gateway.store.success_pg's)."""
    if attempt.outcome not in OUTCOMES:
        raise ValueError(f"unknown attempt outcome {attempt.outcome!r}")
    return {
        "owner_id": owner_id,
        "started_at": attempt.started_at,
        "finished_at": utcnow(),
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "error": attempt.error[:ERROR_CHARS] if attempt.error else None,
        "case_id": attempt.case_id,
    }


def of_delivery(conn: Connection, delivery_id: int, attempt: Attempt) -> None:
    """Log one try of the delivery (called by `deliveries.failed` and `.succeeded`)."""
    conn.execute(_insert("delivery_id"), bind_values(delivery_id, attempt))


def of_push(conn: Connection, push_id: int, attempt: Attempt) -> None:
    """Log one try of the portal push (called by `pushes.failed` and `.succeeded`)."""
    conn.execute(_insert("push_id"), bind_values(push_id, attempt))


def of_melding(conn: Connection, melding_id: str) -> list[AttemptRecord]:
    """Every attempt of the melding's deliveries and pushes, in the order they were made."""
    rows = conn.execute(
        select(delivery_attempts, deliveries.c.event, status_pushes.c.feed)
        .outerjoin(deliveries, deliveries.c.id == delivery_attempts.c.delivery_id)
        .outerjoin(status_pushes, status_pushes.c.id == delivery_attempts.c.push_id)
        .where(delivery_attempts.c.melding_id == melding_id)
        .order_by(delivery_attempts.c.id)
    )
    return [_record(r) for r in rows]


def of_reference(conn: Connection, key: str) -> list[AttemptRecord] | None:
    """The attempts of the melding with this reference (or id); None when there is no such melding."""
    melding_id = conn.execute(
        select(meldingen.c.id).where(or_(meldingen.c.reference == key, meldingen.c.id == key))
    ).scalar_one_or_none()
    return None if melding_id is None else of_melding(conn, melding_id)


def unknown_references(conn: Connection, references: list[str]) -> list[str]:
    """Those of `references` no melding has, in the order given (`gateway deliveries --reference`)."""
    known = set(
        conn.execute(select(meldingen.c.reference).where(meldingen.c.reference.in_(references))).scalars()
    )
    return [r for r in references if r not in known]


def _record(row: Any) -> AttemptRecord:
    return AttemptRecord(
        id=row.id,
        delivery_id=row.delivery_id,
        push_id=row.push_id,
        what=row.event if row.delivery_id is not None else f"push:{row.feed}",
        attempt=row.attempt,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        http_status=row.http_status,
        error=row.error,
        case_id=row.case_id,
    )
