"""A delivery's success with its melding's first status, on PostgreSQL, in one statement.

`deliveries.succeeded_change` marks the delivery delivered, logs the attempt, moves the melding
from `ontvangen` to its first status (with the stage) and appends that status to the history:
four statements, each a round trip to PostgreSQL, for every melding the worker delivers. Here they
are one statement of data-modifying CTEs. Its parts all read the snapshot from before it (so the
attempt's number counts the attempts logged before, as the separate INSERT did); the history row
is written only when the guarded UPDATE moved the melding. SQLite has no DML in a WITH clause and
no round trips: it keeps the four statements.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, select, true, update
from sqlalchemy.engine import Row

from gateway.melding import DeliveryState, Stage, Status, StatusChange, can_transition
from gateway.store import attempts
from gateway.store.history import InvalidTransition, set_stage
from gateway.store.schema import deliveries, delivery_attempts, meldingen, status_history
from gateway.store.sql import utcnow

SOURCE = "worker"  # the history source of a first status set by a delivery's success


def in_one_statement(
    conn: Connection,
    stage: Stage | None,
    first_status: Status | None,
    attempt: attempts.Attempt | None,
    melding_id: str | None,
) -> bool:
    """Whether a success with these arguments is `succeeded_first_status`'s (the worker's case)."""
    return (
        conn.dialect.name == "postgresql"
        and first_status not in (None, Status.ONTVANGEN)
        and stage is not None
        and attempt is not None
        and melding_id is not None
    )


def succeeded_first_status(
    conn: Connection,
    delivery_id: int,
    melding_id: str,
    *,
    case_id: str | None,
    stage: Stage,
    first_status: Status,
    attempt: attempts.Attempt,
    also: Any = None,
    also_params: dict[str, Any] | None = None,
) -> tuple[tuple[int, StatusChange] | None, list[Row[Any]]]:
    """What `deliveries.succeeded_change` does with a first status and an attempt: the history id
    and the change, or None when the melding had moved on from `ontvangen` (then only its stage
    is set, as `history.first_status` does). `also`: a SELECT (built once; its parameters in
    `also_params`) whose rows come back from the same statement, read in the snapshot from before
    it (the extra reporters' updates waiting for this case): its rows, else []."""
    if not can_transition(Status.ONTVANGEN, first_status):
        raise InvalidTransition(Status.ONTVANGEN, first_status)
    now = utcnow()
    logged = attempts.bind_values(delivery_id, attempt)
    params: dict[str, Any] = {
        "s_delivery_id": delivery_id,
        "s_delivered": DeliveryState.DELIVERED.value,
        "s_case_id": case_id,
        "s_melding_id": melding_id,
        "s_current": Status.ONTVANGEN.value,
        "s_status": first_status.value,
        "s_stage": stage.value,
        "s_source": SOURCE,
        "s_now": now,
        **{f"a_{k}": v for k, v in logged.items() if k != "owner_id"},
    }
    if also is None:
        history_id, rows = conn.execute(_statement(), params).scalar_one_or_none(), []
    else:
        found = list(conn.execute(_statement_with(also), {**params, **(also_params or {})}))
        history_id = found[0].s_history_id
        rows = [r for r in found if r.id is not None]  # none: the one row of the outer join
    if history_id is not None:
        return (int(history_id), StatusChange(status=first_status, at=now, source=SOURCE)), rows
    set_stage(conn, melding_id, stage)
    return None, rows


def _at(name: str) -> Any:
    return bindparam(name, type_=deliveries.c.updated_at.type)


def _parts() -> tuple[tuple[Any, ...], Any]:
    """The CTEs and the history INSERT. The parameters are prefixed: one named as a column would
    also be SET by an UPDATE in the statement."""
    d, a = deliveries, delivery_attempts
    delivered = (
        update(d)
        .where(d.c.id == bindparam("s_delivery_id"))
        .values(
            state=bindparam("s_delivered"),
            attempts=d.c.attempts + 1,
            last_error=None,
            case_id=bindparam("s_case_id"),
            next_attempt_at=None,
            updated_at=_at("s_now"),
            delivered_at=_at("s_now"),
        )
        .returning(d.c.id)
        .cte("delivered")
    )
    previous = select(func.count()).where(a.c.delivery_id == bindparam("s_delivery_id")).scalar_subquery()
    logged = (
        insert(a)
        .values(
            delivery_id=bindparam("s_delivery_id"),
            melding_id=bindparam("s_melding_id"),
            attempt=previous + 1,
            started_at=bindparam("a_started_at", type_=a.c.started_at.type),
            finished_at=bindparam("a_finished_at", type_=a.c.finished_at.type),
            outcome=bindparam("a_outcome"),
            http_status=bindparam("a_http_status"),
            error=bindparam("a_error"),
            case_id=bindparam("a_case_id"),
        )
        .returning(a.c.id)
        .cte("logged")
    )
    moved = (
        update(meldingen)
        .where(meldingen.c.id == bindparam("s_melding_id"), meldingen.c.status == bindparam("s_current"))
        .values(status=bindparam("s_status"), stage=bindparam("s_stage"), updated_at=_at("s_now"))
        .returning(meldingen.c.id)
        .cte("moved")
    )
    entry = select(
        moved.c.id,
        bindparam("s_status", type_=status_history.c.status.type),
        bindparam("s_source", type_=status_history.c.source.type),
        _at("s_now"),
    )
    columns = ["melding_id", "status", "source", "at"]
    return (delivered, logged, moved), insert(status_history).from_select(columns, entry).returning(
        status_history.c.id
    )


@functools.cache
def _statement() -> Any:
    """Built once: the worker's hot path (SQLAlchemy memoizes a statement's cache key)."""
    ctes, entry = _parts()
    return entry.add_cte(*ctes)


@functools.cache
def _statement_with(also: Any) -> Any:
    """`_statement` with the rows of `also` beside its history id: (SELECT 1) LEFT JOIN `also`, so
    that the one row comes back when `also` finds none."""
    ctes, entry = _parts()
    written = entry.cte("entry")
    history_id = select(written.c.id).scalar_subquery().label("s_history_id")
    rows = also.subquery("also")
    one = select(literal(1).label("one")).subquery("one")
    return select(history_id, rows).select_from(one.outerjoin(rows, true())).add_cte(*ctes, written)
