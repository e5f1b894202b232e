"""Deliveries: each event a melding owes the case system (`melding.created`, `.updated`,
`.followup`), created once per idempotency key, tried until delivered or dead."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, select, update
from sqlalchemy.engine import Row

from gateway.melding import DeliveryState, Stage, Status, StatusChange
from gateway.store import attempts
from gateway.store.history import first_status as history_first_status
from gateway.store.history import set_stage
from gateway.store.schema import deliveries, meldingen
from gateway.store.sql import dialect_insert, utcnow
from gateway.store.success_pg import in_one_statement, succeeded_first_status


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    melding_id: str
    reference: str
    event: str
    idempotency_key: str
    payload: dict[str, Any] | None
    state: DeliveryState
    attempts: int
    generation: int
    last_error: str | None
    case_id: str | None
    next_attempt_at: datetime | None
    updated_at: datetime
    first_failed_at: datetime | None = None  # the retry budget (delivery_retry_for) runs from here

    @property
    def job_id(self) -> str:
        # Stable while the delivery waits, new after a manual retry (arq refuses duplicate ids).
        return f"deliver:{self.id}:{self.generation}"


def records_query() -> Any:
    """Deliveries with their melding's reference, as `record_of` reads them."""
    return select(deliveries, meldingen.c.reference).join(
        meldingen, meldingen.c.id == deliveries.c.melding_id
    )


def record_of(row: Row[Any], reference: str | None = None) -> DeliveryRecord:
    """`reference`: the melding's, for a row of `deliveries` alone (else the row's own column)."""
    return DeliveryRecord(
        id=row.id,
        melding_id=row.melding_id,
        reference=row.reference if reference is None else reference,
        event=row.event,
        idempotency_key=row.idempotency_key,
        payload=row.payload,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        generation=row.generation,
        last_error=row.last_error,
        case_id=row.case_id,
        next_attempt_at=row.next_attempt_at,
        updated_at=row.updated_at,
        first_failed_at=row.first_failed_at,
    )


def where(conn: Connection, condition: Any) -> DeliveryRecord | None:
    row = conn.execute(records_query().where(condition)).first()
    return record_of(row) if row else None


def get(conn: Connection, delivery_id: int) -> DeliveryRecord | None:
    row = conn.execute(_by("id"), {"key": delivery_id}).first()
    return record_of(row) if row else None


@functools.cache
def _by(column: str) -> Any:
    """Built once (the worker's hot path: SQLAlchemy memoizes a statement's cache key)."""
    return records_query().where(deliveries.c[column] == bindparam("key"))


def due(conn: Connection, delivery_id: int) -> bool:
    """Whether the delivery is still to be made (not delivered, not dead): the one check of a
    deliver step that holds the delivery and its melding already (routed in the same job)."""
    return bool(due_each(conn, [delivery_id])[0])


def due_each(conn: Connection, delivery_ids: Sequence[int]) -> list[bool]:
    """`due` of each delivery id, in one query (the worker's grouped reads)."""
    rows = conn.execute(_due(), {"ids": list(set(delivery_ids))})
    done = {DeliveryState.DELIVERED.value, DeliveryState.DEAD.value}
    open_ids = {r.id for r in rows if r.state not in done}
    return [delivery_id in open_ids for delivery_id in delivery_ids]


@functools.cache
def _due() -> Any:
    return select(deliveries.c.id, deliveries.c.state).where(
        deliveries.c.id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _ensure_insert(dialect: str) -> Any:
    return dialect_insert(deliveries, dialect).on_conflict_do_nothing(index_elements=["idempotency_key"])


@functools.cache
def _succeeded() -> tuple[Any, Any]:
    return (
        update(deliveries)
        .where(deliveries.c.id == bindparam("delivery_id"))
        .values(attempts=deliveries.c.attempts + 1),
        select(deliveries.c.melding_id).where(deliveries.c.id == bindparam("delivery_id")),
    )


@functools.cache
def _ensure_returning(dialect: str) -> Any:
    return _ensure_insert(dialect).returning(*deliveries.c)


@functools.cache
def _ensure_after(cte: Any) -> Any:
    """`ensure`'s INSERT ... RETURNING with a data-modifying CTE before it (built once per CTE)."""
    return _ensure_returning("postgresql").add_cte(cte)


def ensure(
    conn: Connection,
    melding_id: str,
    event_name: str,
    *,
    key: str,
    payload: dict[str, Any] | None = None,
    reference: str | None = None,
    along: tuple[Any, dict[str, Any]] | None = None,
) -> DeliveryRecord:
    """Create the delivery for (melding, event, key) once; return the existing one after that.
    `reference`: the melding's, when the caller knows it: a new row comes back from the INSERT
    itself (RETURNING), one statement where reading it back is two (every routing makes one).
    `along` (PostgreSQL, with `reference`): a data-modifying CTE and its parameters, run in the
    INSERT's own statement (it runs whether or not the row is new): a round trip less."""
    idem = f"{melding_id}:{event_name}:{key}"
    now = utcnow()
    values = {
        "melding_id": melding_id,
        "event": event_name,
        "idempotency_key": idem,
        "payload": payload,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "generation": 0,
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": now,
    }
    if reference is not None:
        statement, params = _ensure_returning(conn.dialect.name), values
        if along is not None:
            statement, params = _ensure_after(along[0]), {**values, **along[1]}
        made = conn.execute(statement, params).first()
        if made is not None:  # nothing comes back when it existed: then it is read as below
            return record_of(made, reference)
    else:
        assert along is None, "along needs reference (the RETURNING form)"
        conn.execute(_ensure_insert(conn.dialect.name), values)
    row = conn.execute(_by("idempotency_key"), {"key": idem}).first()
    assert row is not None
    return record_of(row)


def failed(
    conn: Connection,
    delivery_id: int,
    *,
    error: str,
    dead: bool,
    next_attempt_at: datetime | None,
    dead_stage: Stage | None = None,
    starts_budget: bool = True,
    attempt: attempts.Attempt | None = None,
) -> DeliveryRecord:
    """Count a failed attempt (the first one starts the retry budget, unless `starts_budget` is
    False: a paused delivery, refused for our credentials); a dead delivery may take its
    melding's stage along (`dead_stage`). `attempt` is logged with it (`delivery_attempts`)."""
    state = DeliveryState.DEAD if dead else DeliveryState.RETRYING
    now = utcnow()
    budget_start = literal(now, type_=deliveries.c.first_failed_at.type) if starts_budget else None
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            attempts=deliveries.c.attempts + 1,
            state=state.value,
            last_error=error[:2000],
            next_attempt_at=next_attempt_at,
            first_failed_at=func.coalesce(deliveries.c.first_failed_at, budget_start),
            updated_at=now,
        )
    )
    if attempt is not None:
        attempts.of_delivery(conn, delivery_id, attempt)
    record = get(conn, delivery_id)
    assert record is not None
    if dead and dead_stage is not None:
        set_stage(conn, record.melding_id, dead_stage)
    return record


def succeeded(
    conn: Connection,
    delivery_id: int,
    *,
    case_id: str | None,
    stage: Stage | None = None,
    first_status: Status | None = None,
    attempt: attempts.Attempt | None = None,
) -> int | None:
    """Mark the delivery done; optionally move the melding's stage and give it its first status
    (only while it is still `ontvangen`: the case system may have set one already), and log the
    `attempt` that succeeded. Returns the new status history id, if any. One transaction."""
    made = succeeded_change(
        conn, delivery_id, case_id=case_id, stage=stage, first_status=first_status, attempt=attempt
    )
    return made[0] if made else None


def succeeded_change(
    conn: Connection,
    delivery_id: int,
    *,
    case_id: str | None,
    stage: Stage | None = None,
    first_status: Status | None = None,
    attempt: attempts.Attempt | None = None,
    melding_id: str | None = None,
) -> tuple[int, StatusChange] | None:
    """`succeeded`, returning the status change it made with its history id (the worker notifies
    it without reading it back). `melding_id`: the delivery's melding, when the caller knows it
    (one SELECT less)."""
    if in_one_statement(conn, stage, first_status, attempt, melding_id):
        assert stage is not None and first_status is not None and attempt is not None
        assert melding_id is not None
        made, _ = succeeded_first_status(
            conn,
            delivery_id,
            melding_id,
            case_id=case_id,
            stage=stage,
            first_status=first_status,
            attempt=attempt,
        )
        return made
    now = utcnow()
    mark, melding_of = _succeeded()
    conn.execute(
        mark,
        {
            "delivery_id": delivery_id,
            "state": DeliveryState.DELIVERED.value,
            "case_id": case_id,
            "last_error": None,
            "next_attempt_at": None,
            "updated_at": now,
            "delivered_at": now,
        },
    )
    if attempt is not None:
        attempts.of_delivery(conn, delivery_id, attempt)
    if melding_id is None:
        melding_id = conn.execute(melding_of, {"delivery_id": delivery_id}).scalar_one()
    if first_status is None:
        if stage is not None:
            set_stage(conn, melding_id, stage)
        return None
    return history_first_status(conn, melding_id, first_status, source="worker", stage=stage)


def in_states(
    conn: Connection,
    states: Sequence[DeliveryState],
    limit: int = 1000,
    references: Sequence[str] | None = None,
) -> list[DeliveryRecord]:
    """Those in these states (of these melding references only, if given), oldest first."""
    query = records_query().where(deliveries.c.state.in_([s.value for s in states]))
    if references is not None:
        query = query.where(meldingen.c.reference.in_(list(references)))
    rows = conn.execute(query.order_by(deliveries.c.id).limit(limit))
    return [record_of(r) for r in rows]


def revive_dead(
    conn: Connection, references: Sequence[str] | None = None, *, delivery_ids: Sequence[int] | None = None
) -> list[DeliveryRecord]:
    """Dead deliveries back to pending with a fresh retry budget (all, or those of the references,
    or these deliveries: the desk's resend button)."""
    query = records_query().where(deliveries.c.state == DeliveryState.DEAD.value)
    if references is not None:
        query = query.where(meldingen.c.reference.in_(list(references)))
    if delivery_ids is not None:
        query = query.where(deliveries.c.id.in_(list(delivery_ids)))
    ids = [r.id for r in conn.execute(query)]
    if not ids:
        return []
    now = utcnow()
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(
            state=DeliveryState.PENDING.value,
            attempts=0,
            generation=deliveries.c.generation + 1,
            next_attempt_at=now,
            first_failed_at=None,
            updated_at=now,
        )
    )
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id.in_(select(deliveries.c.melding_id).where(deliveries.c.id.in_(ids))))
        .where(meldingen.c.stage == Stage.DEAD.value)
        .values(stage=Stage.ROUTED.value, updated_at=now)
    )
    return [record_of(r) for r in conn.execute(records_query().where(deliveries.c.id.in_(ids)))]


def waiting(conn: Connection, due_before: datetime, limit: int = 1000) -> list[DeliveryRecord]:
    """Pending or retrying deliveries due before `due_before` (the sweep: their job was lost)."""
    rows = conn.execute(
        records_query()
        .where(
            deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
            deliveries.c.next_attempt_at < due_before,
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    return [record_of(r) for r in rows]
