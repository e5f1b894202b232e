"""Every store operation as one synchronous function over a `Connection`.

`Store` runs each of these in a single hop (a thread on SQLite, `run_sync` on
PostgreSQL), inside one transaction: the same SQL for both backends, and no
per-statement round trip through the event loop.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Dialect, Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from gateway import clock
from gateway.melding import (
    EVENT_UPDATED,
    Attachment,
    Delivery,
    DeliveryState,
    Location,
    Melding,
    MeldingDraft,
    Reporter,
    Stage,
    Status,
    StatusChange,
    can_transition,
    is_open,
)
from gateway.store.schema import (
    attachments,
    deliveries,
    hotspots,
    inbound_messages,
    meldingen,
    notifications,
    reference_counters,
    status_history,
)


class InvalidTransition(Exception):
    def __init__(self, current: Status, new: Status):
        super().__init__(f"status cannot change from {current} to {new}")
        self.current = current
        self.new = new


@dataclass(frozen=True)
class StoredIntake:
    id: str
    reference: str
    tracking_token: str
    created: bool  # False: the idempotency key / message id was seen before
    conflict: bool = False  # True: seen before, but with a different request body
    history_id: int | None = None  # the `ontvangen` entry of a new melding


@dataclass(frozen=True)
class IntakeItem:
    draft: MeldingDraft
    attachments: Sequence[Attachment]
    inbound: dict[str, Any] | None = None  # the audit record of the received message, if any


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

    @property
    def job_id(self) -> str:
        # Stable while the delivery waits, new after a manual retry (arq refuses duplicate ids).
        return f"deliver:{self.id}:{self.generation}"


def utcnow() -> datetime:
    return clock.now()


# -- intake ----------------------------------------------------------------------------------------


def intake_batch(
    conn: Connection, items: Sequence[IntakeItem], tz: ZoneInfo, prefix: str
) -> list[StoredIntake]:
    def key(item: IntakeItem) -> tuple[str, str] | None:
        d = item.draft
        return (d.channel.value, d.external_id) if d.external_id else None

    results: dict[int, StoredIntake] = {}
    keys = [k for k in map(key, items) if k]
    existing = _existing_by_key(conn, keys) if keys else {}
    fresh: list[int] = []
    first_of_key: dict[tuple[str, str], int] = {}
    twins: list[int] = []
    for n, item in enumerate(items):
        k = key(item)
        if k in existing:
            results[n] = _replay(existing[k], item.draft.request_hash)
        elif k in first_of_key:
            twins.append(n)  # same key twice in one batch: answered from the first
        else:
            if k:
                first_of_key[k] = n
            fresh.append(n)
    stored = _insert_fresh(conn, [items[n] for n in fresh], tz, prefix)
    results.update(zip(fresh, stored, strict=True))
    _record_inbound(conn, [(item.inbound, results.get(n)) for n, item in enumerate(items) if item.inbound])
    for n in twins:
        first_n = first_of_key[key(items[n])]  # type: ignore[index]
        first = results[first_n]
        conflict = items[n].draft.request_hash != items[first_n].draft.request_hash
        results[n] = StoredIntake(
            first.id, first.reference, first.tracking_token, created=False, conflict=conflict
        )
    return [results[n] for n in range(len(items))]


def _existing_by_key(conn: Connection, keys: list[tuple[str, str]]) -> dict[Any, Row[Any]]:
    # Per channel with `external_id IN (...)`: SQLite serves that from the unique index,
    # a row-value IN over (channel, external_id) it would answer with a table scan.
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[Any, Row[Any]] = {}
    for channel, ids in by_channel.items():
        query = select(
            meldingen.c.id,
            meldingen.c.reference,
            meldingen.c.tracking_token,
            meldingen.c.request_hash,
            meldingen.c.channel,
            meldingen.c.external_id,
        ).where(meldingen.c.channel == channel, meldingen.c.external_id.in_(ids))
        found.update({(r.channel, r.external_id): r for r in conn.execute(query)})
    return found


def _allocate_references(conn: Connection, years: list[int], prefix: str) -> list[str]:
    """Sequential per year, in the city's time zone, allocated inside the intake transaction."""
    numbers: dict[int, Iterator[int]] = {}
    for year in set(years):
        count = years.count(year)
        ins = _insert(conn, reference_counters).values(year=year, last=count)
        ins = ins.on_conflict_do_update(
            index_elements=["year"], set_={"last": reference_counters.c.last + count}
        ).returning(reference_counters.c.last)
        last = conn.execute(ins).scalar_one()
        numbers[year] = iter(range(last - count + 1, last + 1))
    return [f"{prefix}-{year}-{next(numbers[year]):06d}" for year in years]


def _insert_fresh(
    conn: Connection, items: Sequence[IntakeItem], tz: ZoneInfo, prefix: str
) -> list[StoredIntake]:
    if not items:
        return []
    now = utcnow()
    refs = _allocate_references(conn, [i.draft.received_at.astimezone(tz).year for i in items], prefix)
    rows, history, files, out = [], [], [], []
    for item, ref in zip(items, refs, strict=True):
        d = item.draft
        mid, token = str(uuid.uuid4()), secrets.token_urlsafe(24)
        rows.append(
            {
                "id": mid,
                "reference": ref,
                "channel": d.channel.value,
                "external_id": d.external_id,
                "request_hash": d.request_hash,
                "received_at": d.received_at,
                "reporter_name": d.reporter.name,
                "reporter_email": d.reporter.email,
                "reporter_phone": d.reporter.phone,
                "subject": d.subject,
                "text": d.text,
                "language": d.language,
                **d.location.model_dump(),
                "dienst": d.dienst,
                "status": Status.ONTVANGEN.value,
                "stage": Stage.RECEIVED.value,
                "tracking_token": token,
                "raw": d.raw,
                "updated_at": now,
            }
        )
        history.append(
            {
                "melding_id": mid,
                "status": Status.ONTVANGEN.value,
                "source": "intake",
                "at": now,
                "note": None,
                "planned_date": None,
                "external_partner": None,
            }
        )
        files.extend({"melding_id": mid, **a.model_dump()} for a in item.attachments)
        out.append(StoredIntake(mid, ref, token, created=True))
    insert_many(conn, meldingen, rows)
    insert_many(conn, status_history, history)
    if files:
        insert_many(conn, attachments, files)
    first = dict(
        conn.execute(
            select(status_history.c.melding_id, status_history.c.id).where(
                status_history.c.melding_id.in_([o.id for o in out])
            )
        ).all()
    )
    return [replace(o, history_id=first[o.id]) for o in out]


def _record_inbound(conn: Connection, records: list[tuple[dict[str, Any], StoredIntake | None]]) -> None:
    """The audit records of received messages, in the melding's own transaction (with the MMS
    media to fetch that a record may carry: gateway.store.media)."""
    from gateway.store.media import record_media, take_media  # media builds on this module

    split = [
        take_media({**record, "melding_id": stored.id if stored else None}) for record, stored in records
    ]
    if split:
        conn.execute(
            _insert(conn, inbound_messages).on_conflict_do_nothing(index_elements=["channel", "dedupe_key"]),
            [row for row, _ in split],
        )
    for row, media in split:
        record_media(conn, row, media)


# -- reading meldingen -----------------------------------------------------------------------------


def get_melding(conn: Connection, condition: Any) -> Melding | None:
    row = conn.execute(select(meldingen).where(condition)).first()
    if row is None:
        return None
    hist = conn.execute(
        select(status_history).where(status_history.c.melding_id == row.id).order_by(status_history.c.id)
    )
    files = conn.execute(
        select(attachments).where(attachments.c.melding_id == row.id).order_by(attachments.c.id)
    )
    dels = conn.execute(select(deliveries).where(deliveries.c.melding_id == row.id).order_by(deliveries.c.id))
    melding = _melding(row, list(hist), list(files), list(dels))
    from gateway.store.inbound import followups_of  # imported here: inbound builds on this module

    melding.followups = followups_of(conn, row.id)
    return melding


def list_meldingen(conn: Connection, stage: Stage | None, limit: int) -> list[Melding]:
    query = select(meldingen.c.id).order_by(meldingen.c.received_at.desc()).limit(limit)
    if stage is not None:
        query = query.where(meldingen.c.stage == stage.value)
    found = [get_melding(conn, meldingen.c.id == r.id) for r in conn.execute(query)]
    return [m for m in found if m is not None]


def history_entry(conn: Connection, history_id: int) -> StatusChange | None:
    row = conn.execute(select(status_history).where(status_history.c.id == history_id)).first()
    return _status_change(row) if row else None


def counts(conn: Connection) -> dict[str, dict[str, int]]:
    stages = conn.execute(select(meldingen.c.stage, func.count()).group_by(meldingen.c.stage))
    states = conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
    return {"stage": {r[0]: r[1] for r in stages}, "delivery": {r[0]: r[1] for r in states}}


# -- pipeline updates ------------------------------------------------------------------------------


def set_routing(
    conn: Connection,
    melding_id: str,
    dienst: str | None,
    confidence: float | None,
    routed_by: str | None,
    alternatives: Sequence[tuple[str, float]],
    stage: Stage,
) -> None:
    now = utcnow()
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id)
        .values(
            dienst=dienst,
            confidence=confidence,
            routed_by=routed_by,
            alternatives=[list(a) for a in alternatives],
            stage=stage.value,
            processed_at=now,
            updated_at=now,
        )
    )


def route(
    conn: Connection,
    melding_id: str,
    dienst: str | None,
    confidence: float | None,
    routed_by: str | None,
    alternatives: Sequence[tuple[str, float]],
    stage: Stage,
    delivery_event: str | None,
) -> DeliveryRecord | None:
    """Record the routing and, for a routed melding, its first delivery: one transaction."""
    set_routing(conn, melding_id, dienst, confidence, routed_by, alternatives, stage)
    return ensure_delivery(conn, melding_id, delivery_event, "created", None) if delivery_event else None


def set_stage(conn: Connection, melding_id: str, stage: Stage) -> None:
    conn.execute(
        update(meldingen).where(meldingen.c.id == melding_id).values(stage=stage.value, updated_at=utcnow())
    )


def add_status(
    conn: Connection,
    melding_id: str,
    status: Status,
    source: str,
    note: str | None,
    planned_date: date | None,
    external_partner: str | None,
    force: bool,
) -> int | None:
    current = Status(
        conn.execute(
            select(meldingen.c.status).where(meldingen.c.id == melding_id).with_for_update()
        ).scalar_one()
    )
    if current == status and not force:
        return None
    if not force and not can_transition(current, status):
        raise InvalidTransition(current, status)
    now = utcnow()
    conn.execute(
        update(meldingen).where(meldingen.c.id == melding_id).values(status=status.value, updated_at=now)
    )
    result = conn.execute(
        status_history.insert()
        .values(
            melding_id=melding_id,
            status=status.value,
            note=note,
            planned_date=planned_date,
            external_partner=external_partner,
            source=source,
            at=now,
        )
        .returning(status_history.c.id)
    )
    return int(result.scalar_one())


# -- deliveries ------------------------------------------------------------------------------------


def _delivery_query() -> Any:
    return select(deliveries, meldingen.c.reference).join(
        meldingen, meldingen.c.id == deliveries.c.melding_id
    )


def delivery_where(conn: Connection, condition: Any) -> DeliveryRecord | None:
    row = conn.execute(_delivery_query().where(condition)).first()
    return _delivery(row) if row else None


def ensure_delivery(
    conn: Connection, melding_id: str, event_name: str, key: str, payload: dict[str, Any] | None
) -> DeliveryRecord:
    idem = f"{melding_id}:{event_name}:{key}"
    now = utcnow()
    conn.execute(
        _insert(conn, deliveries)
        .values(
            melding_id=melding_id,
            event=event_name,
            idempotency_key=idem,
            payload=payload,
            state=DeliveryState.PENDING.value,
            attempts=0,
            generation=0,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    record = delivery_where(conn, deliveries.c.idempotency_key == idem)
    assert record is not None
    return record


def delivery_failed(
    conn: Connection,
    delivery_id: int,
    error: str,
    dead: bool,
    next_attempt_at: datetime | None,
    dead_stage: Stage | None,
) -> DeliveryRecord:
    """Count a failed attempt; a dead delivery may take its melding's stage along (`dead_stage`)."""
    state = DeliveryState.DEAD if dead else DeliveryState.RETRYING
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            attempts=deliveries.c.attempts + 1,
            state=state.value,
            last_error=error[:2000],
            next_attempt_at=next_attempt_at,
            updated_at=utcnow(),
        )
    )
    record = delivery_where(conn, deliveries.c.id == delivery_id)
    assert record is not None
    if dead and dead_stage is not None:
        set_stage(conn, record.melding_id, dead_stage)
    return record


def delivery_succeeded(
    conn: Connection, delivery_id: int, case_id: str | None, stage: Stage | None, first_status: Status | None
) -> int | None:
    """Mark the delivery done; optionally move the melding's stage and give it its first status
    (only while it is still `ontvangen`: the case system may have set one already).
    Returns the new status history id, if any. One transaction."""
    now = utcnow()
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            attempts=deliveries.c.attempts + 1,
            state=DeliveryState.DELIVERED.value,
            case_id=case_id,
            last_error=None,
            next_attempt_at=None,
            updated_at=now,
            delivered_at=now,
        )
    )
    melding_id = conn.execute(
        select(deliveries.c.melding_id).where(deliveries.c.id == delivery_id)
    ).scalar_one()
    if stage is not None:
        set_stage(conn, melding_id, stage)
    current = conn.execute(select(meldingen.c.status).where(meldingen.c.id == melding_id)).scalar_one()
    if first_status is not None and current == Status.ONTVANGEN.value:
        return add_status(conn, melding_id, first_status, "worker", None, None, None, False)
    return None


def list_deliveries(conn: Connection, states: Sequence[DeliveryState], limit: int) -> list[DeliveryRecord]:
    rows = conn.execute(
        _delivery_query()
        .where(deliveries.c.state.in_([s.value for s in states]))
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def revive_dead(conn: Connection, references: Sequence[str] | None) -> list[DeliveryRecord]:
    query = _delivery_query().where(deliveries.c.state == DeliveryState.DEAD.value)
    if references is not None:
        query = query.where(meldingen.c.reference.in_(list(references)))
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
            updated_at=now,
        )
    )
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id.in_(select(deliveries.c.melding_id).where(deliveries.c.id.in_(ids))))
        .where(meldingen.c.stage == Stage.DEAD.value)
        .values(stage=Stage.ROUTED.value, updated_at=now)
    )
    return [_delivery(r) for r in conn.execute(_delivery_query().where(deliveries.c.id.in_(ids)))]


# -- the sweep -------------------------------------------------------------------------------------


def unprocessed_meldingen(conn: Connection, received_before: datetime, limit: int) -> list[str]:
    rows = conn.execute(
        select(meldingen.c.id)
        .where(meldingen.c.stage == Stage.RECEIVED.value, meldingen.c.received_at < received_before)
        .order_by(meldingen.c.received_at)
        .limit(limit)
    )
    return [r.id for r in rows]


def waiting_deliveries(conn: Connection, due_before: datetime, limit: int) -> list[DeliveryRecord]:
    rows = conn.execute(
        _delivery_query()
        .where(
            deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
            deliveries.c.next_attempt_at < due_before,
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def unnotified_history(conn: Connection, before: datetime, limit: int) -> list[tuple[str, int]]:
    """Status changes (after intake) with no notification decision recorded yet."""
    rows = conn.execute(
        select(status_history.c.melding_id, status_history.c.id)
        .outerjoin(notifications, notifications.c.history_id == status_history.c.id)
        .where(
            notifications.c.id.is_(None), status_history.c.source != "intake", status_history.c.at < before
        )
        .order_by(status_history.c.id)
        .limit(limit)
    )
    return [(r.melding_id, r.id) for r in rows]


# -- notifications ---------------------------------------------------------------------------------


def record_notification(
    conn: Connection,
    melding_id: str,
    history_id: int,
    channel: str,
    recipient: str | None,
    state: str,
    detail: str,
) -> None:
    ins = _insert(conn, notifications).values(
        melding_id=melding_id,
        history_id=history_id,
        channel=channel,
        recipient=recipient,
        state=state,
        detail=detail,
        created_at=utcnow(),
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["history_id", "channel"],
            set_={"state": state, "detail": detail, "recipient": recipient},
        )
    )


def notification_state(conn: Connection, history_id: int, channel: str) -> str | None:
    return conn.execute(
        select(notifications.c.state).where(
            notifications.c.history_id == history_id, notifications.c.channel == channel
        )
    ).scalar_one_or_none()


def notification_states(conn: Connection, history_id: int) -> dict[str, str]:
    """What was decided per channel for one status change (sent, skipped, retrying, failed)."""
    rows = conn.execute(
        select(notifications.c.channel, notifications.c.state).where(notifications.c.history_id == history_id)
    )
    return {r.channel: r.state for r in rows}


# -- helpers ---------------------------------------------------------------------------------------


R = TypeVar("R")


def row_as(cls: type[R], row: Any) -> R:
    """A row as the dataclass whose fields name its columns (the rest of the row is ignored)."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def _insert(conn: Connection, table: Table) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


@functools.cache
def _compiled_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup or []
    return compiled.string, [(name, table.c[name].type._cached_bind_processor(dialect)) for name in order]


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert. On SQLite the compiled statement goes straight to the driver's
    executemany, with SQLAlchemy's own bind processors applied: the same rows, a
    fraction of the per-row Python work on the intake hot path."""
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    sql, params = _compiled_insert(table, tuple(rows[0]), conn.dialect)
    values = [tuple(proc(row[name]) if proc else row[name] for name, proc in params) for row in rows]
    conn.exec_driver_sql(sql, values)


def _replay(row: Row[Any], request_hash: str | None) -> StoredIntake:
    conflict = bool(request_hash and row.request_hash and request_hash != row.request_hash)
    return StoredIntake(row.id, row.reference, row.tracking_token, created=False, conflict=conflict)


def _status_change(row: Row[Any]) -> StatusChange:
    return StatusChange(
        status=Status(row.status),
        at=row.at,
        note=row.note,
        planned_date=row.planned_date,
        external_partner=row.external_partner,
        source=row.source,
    )


def _delivery(row: Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        melding_id=row.melding_id,
        reference=row.reference,
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
    )


def _melding(row: Row[Any], hist: list[Row[Any]], files: list[Row[Any]], dels: list[Row[Any]]) -> Melding:
    return Melding(
        id=row.id,
        reference=row.reference,
        channel=row.channel,
        external_id=row.external_id,
        received_at=row.received_at,
        reporter=Reporter(name=row.reporter_name, email=row.reporter_email, phone=row.reporter_phone),
        subject=row.subject,
        text=row.text,
        language=row.language,
        location=Location(
            address=row.address,
            street=row.street,
            house_number=row.house_number,
            postcode=row.postcode,
            lat=row.lat,
            lon=row.lon,
        ),
        attachments=[
            Attachment(
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                storage_path=f.storage_path,
            )
            for f in files
        ],
        dienst=row.dienst,
        confidence=row.confidence,
        routed_by=row.routed_by,
        alternatives=[tuple(a) for a in (row.alternatives or [])],
        duplicate_of=row.duplicate_of,
        duplicate_score=row.duplicate_score,
        duplicate_reason=row.duplicate_reason,
        located=row.located,
        status=Status(row.status),
        stage=Stage(row.stage),
        status_history=[_status_change(h) for h in hist],
        deliveries=[
            Delivery(
                event=d.event,
                state=DeliveryState(d.state),
                attempts=d.attempts,
                last_error=d.last_error,
                case_id=d.case_id,
                updated_at=d.updated_at,
            )
            for d in dels
        ],
        tracking_token=row.tracking_token,
    )


# -- desk routing decisions (gateway/classify/desk.py) ---------------------------------------------

DESK = "desk"  # routed_by of a dienst chosen by the 1777 desk


def set_desk_dienst(
    conn: Connection, melding_id: str, dienst: str, delivery_event: str
) -> tuple[str, str | None]:
    """The desk routes a melding that waits in triage, and its first delivery is created.

    Returns (outcome, stage): "routed"; "unchanged" (the desk chose this dienst before: a repeat);
    "not_in_triage" with the current stage; "missing". The stage condition is in the UPDATE, so two
    desk decisions at once cannot both win.
    """
    done = conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id, meldingen.c.stage == Stage.TRIAGE.value)
        .values(dienst=dienst, confidence=1.0, routed_by=DESK, stage=Stage.ROUTED.value, updated_at=utcnow())
    )
    if done.rowcount == 1:
        # Created here, not only by the process job: the sweep resends it if that job is lost.
        ensure_delivery(conn, melding_id, delivery_event, "created", None)
        return "routed", Stage.ROUTED.value
    columns = (meldingen.c.stage, meldingen.c.dienst, meldingen.c.routed_by)
    row = conn.execute(select(*columns).where(meldingen.c.id == melding_id)).first()
    if row is None:
        return "missing", None
    if row.routed_by == DESK and row.dienst == dienst:
        return "unchanged", row.stage
    return "not_in_triage", row.stage


def desk_decisions(conn: Connection, limit: int) -> list[tuple[str | None, str, str]]:
    """(subject, text, dienst) of meldingen the desk routed, oldest first: extra training examples."""
    rows = conn.execute(
        select(meldingen.c.subject, meldingen.c.text, meldingen.c.dienst)
        .where(meldingen.c.routed_by == DESK, meldingen.c.dienst.is_not(None))
        .order_by(meldingen.c.received_at, meldingen.c.id)
        .limit(limit)
    )
    return [(r.subject, r.text, r.dienst) for r in rows]


# -- duplicates and hotspots (gateway/dedupe) ------------------------------------------------------

REPORTER_KEY = "reporter:"  # delivery key of an extra reporter on the master: "reporter:<duplicate id>"
_OPEN = [s.value for s in Status if is_open(s)]
_INDEXED_STAGES = [Stage.ROUTED.value, Stage.DELIVERED.value, Stage.DEAD.value]
_CANDIDATE_COLUMNS = (
    meldingen.c.id,
    meldingen.c.duplicate_of,
    meldingen.c.dienst,
    meldingen.c.received_at,
    meldingen.c.loc_lat,
    meldingen.c.loc_lon,
    meldingen.c.loc_radius,
    meldingen.c.street_key,
    meldingen.c.house_no,
    meldingen.c.geo_cell,
    meldingen.c.dedupe_sig,
)


def dedupe_lock(conn: Connection, dienst: str) -> None:
    """One dedupe decision per dienst at a time (PostgreSQL; SQLite has one writer anyway), so
    that two workers cannot both miss each other's report of one problem."""
    if conn.dialect.name == "postgresql":
        key = sum(ord(c) * 31**i for i, c in enumerate(dienst)) % 2_000_000_000
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock(1777, {key})")


def dedupe_candidates(
    conn: Connection,
    dienst: str,
    cells: Sequence[str],
    keys: Sequence[str],
    since: datetime,
    until: datetime,
    exclude: str,
) -> list[Row[Any]]:
    """Open, routed meldingen of a dienst in these grid cells or on these streets, in a time window.

    Served by ix_meldingen_dedupe_cell / ix_meldingen_dedupe_street: the cost follows the number
    of meldingen in those blocks, not in the store."""
    blocks = []
    if cells:
        blocks.append(meldingen.c.geo_cell.in_(list(cells)))
    if keys:
        blocks.append(meldingen.c.street_key.in_(list(keys)))
    if not blocks:
        return []
    query = select(*_CANDIDATE_COLUMNS).where(
        meldingen.c.dienst == dienst,
        or_(*blocks),
        meldingen.c.received_at >= since,
        meldingen.c.received_at <= until,
        meldingen.c.id != exclude,
        meldingen.c.status.in_(_OPEN),
        meldingen.c.stage.in_(_INDEXED_STAGES),
    )
    return list(conn.execute(query))


def dedupe_problems_near(
    conn: Connection, dienst: str, cells: Sequence[str], since: datetime
) -> list[Row[Any]]:
    """Distinct problems (no duplicates) of a dienst in these cells since a moment, open or closed."""
    query = select(*_CANDIDATE_COLUMNS).where(
        meldingen.c.dienst == dienst,
        meldingen.c.geo_cell.in_(list(cells)),
        meldingen.c.received_at >= since,
        meldingen.c.duplicate_of.is_(None),
        meldingen.c.stage.in_(_INDEXED_STAGES),
    )
    return list(conn.execute(query))


def route_dedupe(
    conn: Connection,
    melding_id: str,
    dienst: str | None,
    confidence: float | None,
    routed_by: str | None,
    alternatives: Sequence[tuple[str, float]],
    stage: Stage,
    delivery_event: str | None,
    located: dict[str, Any],
    duplicate_of: str | None,
    duplicate_score: float | None,
    duplicate_reason: str | None,
    reporter_payload: dict[str, Any] | None,
) -> DeliveryRecord | None:
    """Record routing, location and duplicate decision in one transaction, with the one delivery
    that follows: the melding's own `delivery_event`, or for a duplicate the master's
    `melding.updated` that adds its reporter (not a second case)."""
    conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id)
        .values(
            duplicate_of=duplicate_of,
            duplicate_score=duplicate_score,
            duplicate_reason=duplicate_reason,
            **located,
        )
    )
    if duplicate_of is None:
        return route(conn, melding_id, dienst, confidence, routed_by, alternatives, stage, delivery_event)
    set_routing(conn, melding_id, dienst, confidence, routed_by, alternatives, stage)
    return ensure_delivery(conn, duplicate_of, EVENT_UPDATED, REPORTER_KEY + melding_id, reporter_payload)


def recent_hotspots(conn: Connection, dienst: str, since: datetime) -> list[Row[Any]]:
    query = select(hotspots).where(hotspots.c.dienst == dienst, hotspots.c.last_at >= since)
    return list(conn.execute(query))


def save_hotspot(conn: Connection, values: dict[str, Any], hotspot_id: int | None) -> int:
    now = utcnow()
    if hotspot_id is not None:
        conn.execute(update(hotspots).where(hotspots.c.id == hotspot_id).values(**values, updated_at=now))
        return hotspot_id
    result = conn.execute(
        hotspots.insert().values(**values, created_at=now, updated_at=now).returning(hotspots.c.id)
    )
    return int(result.scalar_one())


def list_hotspots(conn: Connection, since: datetime, limit: int) -> list[dict[str, Any]]:
    query = select(hotspots).where(hotspots.c.last_at >= since).order_by(hotspots.c.last_at.desc())
    rows = list(conn.execute(query.limit(limit)))
    ids = {i for r in rows for i in r.melding_ids}
    refs = dict(
        conn.execute(select(meldingen.c.id, meldingen.c.reference).where(meldingen.c.id.in_(list(ids))))
        .tuples()
        .all()
    )
    return [{**r._asdict(), "references": [refs.get(i, i) for i in r.melding_ids]} for r in rows]


def follow_master(
    conn: Connection,
    master_id: str,
    status: Status,
    source: str,
    note: str | None,
    planned_date: date | None,
    external_partner: str | None,
) -> list[tuple[str, int]]:
    """Give the master's new status to its duplicates: (duplicate id, history id) per change.

    All of them, closed ones too: a duplicate has no life of its own, and when the master is
    reopened its reporters hear it. A change the transition table refuses is left out."""
    rows = conn.execute(
        select(meldingen.c.id, meldingen.c.status).where(meldingen.c.duplicate_of == master_id)
    )
    changed = []
    for row in list(rows):
        current = Status(row.status)
        if current == status or not can_transition(current, status):
            continue
        history_id = add_status(conn, row.id, status, source, note, planned_date, external_partner, False)
        if history_id is not None:
            changed.append((row.id, history_id))
    return changed


def acknowledge_duplicate(conn: Connection, duplicate_id: str) -> int | None:
    """The case system knows the extra reporter: the duplicate takes its master's status (at least
    Geregistreerd) so that its reporter hears, and is delivered. Returns the new history id."""
    row = conn.execute(
        select(meldingen.c.duplicate_of, meldingen.c.status).where(meldingen.c.id == duplicate_id)
    ).first()
    if row is None or row.duplicate_of is None:
        return None
    set_stage(conn, duplicate_id, Stage.DELIVERED)
    master = conn.execute(
        select(meldingen.c.reference, meldingen.c.status).where(meldingen.c.id == row.duplicate_of)
    ).first()
    if master is None or Status(row.status) != Status.ONTVANGEN:
        return None  # acknowledged before (a repeated delivery), or it moved on since
    status = Status(master.status)
    if status == Status.ONTVANGEN:
        status = Status.GEREGISTREERD
    note = f"Gekoppeld aan melding {master.reference} over hetzelfde probleem."
    return add_status(conn, duplicate_id, status, "worker", note, None, None, False)


def reporter_deliveries(conn: Connection, master_id: str) -> list[DeliveryRecord]:
    """The master's extra-reporter deliveries that still wait (for the master's own delivery)."""
    rows = conn.execute(
        _delivery_query().where(
            deliveries.c.melding_id == master_id,
            deliveries.c.event == EVENT_UPDATED,
            deliveries.c.idempotency_key.like(f"{master_id}:{EVENT_UPDATED}:{REPORTER_KEY}%"),
            deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
        )
    )
    return [_delivery(r) for r in rows]


def created_delivery_state(conn: Connection, melding_id: str) -> DeliveryState | None:
    key = f"{melding_id}:melding.created:created"
    query = select(deliveries.c.state).where(deliveries.c.idempotency_key == key)
    state = conn.execute(query).scalar_one_or_none()
    return DeliveryState(state) if state else None
