"""Status pushes to citizen portals (GATEWAY_STATUS_FEEDS) and the national register number they
need: an outbox row per (status change, feed), tried like a delivery until pushed or dead.

The number itself is kept in `meldingen.national_register_number` and read only here, by the
push job, when a push is sent: never part of a `Melding`, so no page, log or webhook can show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select, update
from sqlalchemy.engine import Row

from gateway.config import StatusFeed
from gateway.melding import DeliveryState, Melding, Status, StatusChange
from gateway.store import attempts
from gateway.store.history import entry
from gateway.store.meldingen import get
from gateway.store.schema import meldingen, status_history, status_pushes
from gateway.store.sql import dialect_insert, utcnow


@dataclass(frozen=True)
class PushRecord:
    id: int
    melding_id: str
    history_id: int
    feed: str
    state: DeliveryState
    attempts: int
    generation: int
    last_error: str | None
    next_attempt_at: datetime | None
    first_failed_at: datetime | None
    reference: str

    @property
    def job_id(self) -> str:
        # Stable while the push waits, new after a manual retry (arq refuses duplicate ids).
        return f"push:{self.id}:{self.generation}"


@dataclass(frozen=True)
class ToPush:
    """What one push sends: the melding, the status change, the citizen's number."""

    push: PushRecord
    melding: Melding
    change: StatusChange
    national_register_number: str | None  # gone once retention anonymised the melding
    # a later status of the melding has its own push to this feed (this one waited for a retry):
    # sending it now could show the citizen an older status as the current one
    superseded: bool = False


def _query() -> Any:
    return select(status_pushes, meldingen.c.reference).join(
        meldingen, meldingen.c.id == status_pushes.c.melding_id
    )


def _record(row: Row[Any]) -> PushRecord:
    return PushRecord(
        id=row.id,
        melding_id=row.melding_id,
        history_id=row.history_id,
        feed=row.feed,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        generation=row.generation,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        first_failed_at=row.first_failed_at,
        reference=row.reference,
    )


def national_register_number(conn: Connection, melding_id: str) -> str | None:
    return conn.execute(
        select(meldingen.c.national_register_number).where(meldingen.c.id == melding_id)
    ).scalar_one_or_none()


def feeds_wanting(feeds: Sequence[StatusFeed], status: Status) -> list[str]:
    """The names of the feeds that push this status."""
    return [f.name for f in feeds if status.value in f.statuses]


def set_national_register_number(
    conn: Connection, melding_id: str, digits: str | None, feeds: Sequence[StatusFeed] = ()
) -> list[PushRecord] | None:
    """The desk links a melding to a citizen (or unlinks it: None): None when there is no melding
    (or its personal data is gone); else the pushes of its current status to the `feeds` that want
    it, so the citizen's portal shows the melding now, not from its next status change on."""
    done = conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id, meldingen.c.anonymised_at.is_(None))
        .values(national_register_number=digits, updated_at=utcnow())
    )
    if done.rowcount != 1:
        return None
    latest = conn.execute(
        select(status_history.c.id, status_history.c.status)
        .where(status_history.c.melding_id == melding_id)
        .order_by(status_history.c.id.desc())
        .limit(1)
    ).first()
    if digits is None or latest is None:
        return []
    return ensure(conn, melding_id, latest.id, feeds_wanting(feeds, Status(latest.status)))


def ensure(conn: Connection, melding_id: str, history_id: int, feeds: Sequence[str]) -> list[PushRecord]:
    """The pushes of one status change, one per feed, created once, for a melding linked to a
    citizen (none without a national register number); those still to send."""
    now = utcnow()
    if feeds and national_register_number(conn, melding_id):
        conn.execute(
            dialect_insert(status_pushes, conn.dialect.name).on_conflict_do_nothing(
                index_elements=["history_id", "feed"]
            ),
            [
                {
                    "melding_id": melding_id,
                    "history_id": history_id,
                    "feed": feed,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "generation": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for feed in feeds
            ],
        )
    rows = conn.execute(
        _query().where(
            status_pushes.c.history_id == history_id,
            status_pushes.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
        )
    )
    return [_record(r) for r in rows]


def to_push(conn: Connection, push_id: int) -> ToPush | None:
    """The push job's one read; None when the push is done, dead or gone."""
    row = conn.execute(_query().where(status_pushes.c.id == push_id)).first()
    if row is None:
        return None
    push = _record(row)
    if push.state not in (DeliveryState.PENDING, DeliveryState.RETRYING):
        return None
    melding, change = get(conn, push.melding_id), entry(conn, push.history_id)
    if melding is None or change is None:
        return None
    newer = conn.execute(
        select(status_pushes.c.id).where(
            status_pushes.c.melding_id == push.melding_id,
            status_pushes.c.feed == push.feed,
            status_pushes.c.history_id > push.history_id,
        )
    ).first()
    number = national_register_number(conn, push.melding_id)
    return ToPush(push, melding, change, number, superseded=newer is not None)


def succeeded(
    conn: Connection, push_id: int, note: str | None = None, *, attempt: attempts.Attempt | None = None
) -> None:
    """Pushed (or, with a `note` saying why, left out for good: superseded); the `attempt` that
    pushed it is logged (`delivery_attempts`)."""
    now = utcnow()
    conn.execute(
        update(status_pushes)
        .where(status_pushes.c.id == push_id)
        .values(
            attempts=status_pushes.c.attempts + 1,
            state=DeliveryState.DELIVERED.value,
            last_error=note,
            next_attempt_at=None,
            updated_at=now,
            pushed_at=now,
        )
    )
    if attempt is not None:
        attempts.of_push(conn, push_id, attempt)


def failed(
    conn: Connection,
    push_id: int,
    *,
    error: str,
    next_attempt_at: datetime | None,
    attempt: attempts.Attempt | None = None,
) -> None:
    """A failed attempt: retrying until `next_attempt_at`, dead without one; `attempt` is logged
    with it (none for a push dropped without being tried)."""
    now = utcnow()
    state = DeliveryState.RETRYING if next_attempt_at else DeliveryState.DEAD
    conn.execute(
        update(status_pushes)
        .where(status_pushes.c.id == push_id)
        .values(
            attempts=status_pushes.c.attempts + 1,
            state=state.value,
            last_error=error[:2000],
            next_attempt_at=next_attempt_at,
            first_failed_at=func.coalesce(
                status_pushes.c.first_failed_at, literal(now, type_=status_pushes.c.first_failed_at.type)
            ),
            updated_at=now,
        )
    )
    if attempt is not None:
        attempts.of_push(conn, push_id, attempt)


def waiting(conn: Connection, due_before: datetime, limit: int = 1000) -> list[PushRecord]:
    """Pending or retrying pushes due before `due_before` (the sweep: their job was lost)."""
    rows = conn.execute(
        _query()
        .where(
            status_pushes.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
            status_pushes.c.next_attempt_at < due_before,
        )
        .order_by(status_pushes.c.next_attempt_at)
        .limit(limit)
    )
    return [_record(r) for r in rows]


def in_states(
    conn: Connection,
    states: Sequence[DeliveryState],
    limit: int = 1000,
    references: Sequence[str] | None = None,
) -> list[PushRecord]:
    """Those in these states (of these melding references only, if given), oldest first."""
    query = _query().where(status_pushes.c.state.in_([s.value for s in states]))
    if references is not None:
        query = query.where(meldingen.c.reference.in_(list(references)))
    rows = conn.execute(query.order_by(status_pushes.c.id).limit(limit))
    return [_record(r) for r in rows]


def of_melding(conn: Connection, melding_id: str) -> list[PushRecord]:
    rows = conn.execute(_query().where(status_pushes.c.melding_id == melding_id).order_by(status_pushes.c.id))
    return [_record(r) for r in rows]


def revive_dead(conn: Connection, references: Sequence[str] | None = None) -> list[PushRecord]:
    """Dead pushes back to pending with a fresh retry budget (all, or those of the references)."""
    query = _query().where(status_pushes.c.state == DeliveryState.DEAD.value)
    if references is not None:
        query = query.where(meldingen.c.reference.in_(list(references)))
    ids = [r.id for r in conn.execute(query)]
    if ids:
        conn.execute(
            update(status_pushes)
            .where(status_pushes.c.id.in_(ids))
            .values(
                state=DeliveryState.PENDING.value,
                attempts=0,
                generation=status_pushes.c.generation + 1,
                next_attempt_at=utcnow(),
                first_failed_at=None,
                updated_at=utcnow(),
            )
        )
    return [_record(r) for r in conn.execute(_query().where(status_pushes.c.id.in_(ids)))]
