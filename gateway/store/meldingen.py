"""Meldingen: intake (new ones, in batches, with their audit records), reading them whole, and
their routing (dienst, confidence, stage, first delivery)."""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.engine import Row

from gateway.melding import (
    Attachment,
    Delivery,
    DeliveryState,
    Location,
    Melding,
    MeldingDraft,
    Reporter,
    RoutingDecision,
    Stage,
    Status,
)
from gateway.store.deliveries import DeliveryRecord, ensure
from gateway.store.deliveries import get as get_delivery
from gateway.store.history import status_change
from gateway.store.inbound import followups_of, followups_of_many, record_many
from gateway.store.schema import attachments, deliveries, meldingen, reference_counters, status_history
from gateway.store.sql import dialect_insert, insert_many, utcnow


@dataclass(frozen=True)
class StoredIntake:
    id: str
    reference: str
    tracking_token: str
    created: bool  # False: the idempotency key / message id was seen before
    conflict: bool = False  # True: seen before, but with a different request body
    history_id: int | None = None  # the `ontvangen` entry of a new melding
    attachments_failed: tuple[Attachment, ...] = ()  # stored with the melding, but not on disk


@dataclass(frozen=True)
class IntakeItem:
    draft: MeldingDraft
    attachments: Sequence[Attachment]
    inbound: dict[str, Any] | None = None  # the audit record of the received message, if any


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
    record_many(conn, [_audit(item.inbound, results.get(n)) for n, item in enumerate(items) if item.inbound])
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
        rows = conn.execute(_by_keys(), {"channel": channel, "external_ids": ids})
        found.update({(r.channel, r.external_id): r for r in rows})
    return found


# The intake batch's statements are built once (as the worker's reads are): a batch holds one to
# a few meldingen, and building and caching a statement anew cost more than running it.
@functools.cache
def _by_keys() -> Any:
    columns = ("id", "reference", "tracking_token", "request_hash", "channel", "external_id")
    return select(*(meldingen.c[name] for name in columns)).where(
        meldingen.c.channel == bindparam("channel"),
        meldingen.c.external_id.in_(bindparam("external_ids", expanding=True)),
    )


@functools.cache
def _count_references(dialect: str) -> Any:
    """`count` more references in `year`: the last one allocated."""
    ins = dialect_insert(reference_counters, dialect).values(year=bindparam("year"), last=bindparam("count"))
    return ins.on_conflict_do_update(
        index_elements=["year"], set_={"last": reference_counters.c.last + ins.excluded.last}
    ).returning(reference_counters.c.last)


@functools.cache
def _first_entries() -> Any:
    return select(status_history.c.melding_id, status_history.c.id).where(
        status_history.c.melding_id.in_(bindparam("melding_ids", expanding=True))
    )


def _allocate_references(conn: Connection, years: list[int], prefix: str) -> list[str]:
    """Sequential per year, in the city's time zone, allocated inside the intake transaction."""
    numbers: dict[int, Iterator[int]] = {}
    for year in set(years):
        count = years.count(year)
        statement = _count_references(conn.dialect.name)
        last = conn.execute(statement, {"year": year, "count": count}).scalar_one()
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
                "reporter_feedback": d.reporter.feedback,
                "subject": d.subject,
                "text": d.text,
                "language": d.language,
                **d.location.model_dump(),
                "dienst": d.dienst,
                "status": Status.ONTVANGEN.value,
                "stage": Stage.RECEIVED.value,
                "tracking_token": token,
                "raw": d.raw,
                "national_register_number": d.national_register_number,
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
    first = dict(conn.execute(_first_entries(), {"melding_ids": [o.id for o in out]}).all())
    return [replace(o, history_id=first[o.id]) for o in out]


def _audit(record: dict[str, Any], stored: StoredIntake | None) -> dict[str, Any]:
    return {**record, "melding_id": stored.id if stored else None}


def _replay(row: Row[Any], request_hash: str | None) -> StoredIntake:
    conflict = bool(request_hash and row.request_hash and request_hash != row.request_hash)
    return StoredIntake(row.id, row.reference, row.tracking_token, created=False, conflict=conflict)


def attachments_in_use(conn: Connection, sha256s: Sequence[str]) -> set[str]:
    """Which of these contents a stored melding refers to (its file must stay on disk)."""
    query = (
        select(attachments.c.sha256)
        .where(attachments.c.sha256.in_(list(sha256s)), attachments.c.state == "stored")
        .distinct()
    )
    return set(conn.execute(query).scalars())


# -- reading meldingen -----------------------------------------------------------------------------


def get(conn: Connection, melding_id: str) -> Melding | None:
    # The worker reads a melding two or three times per job: statements built once, whose
    # cache keys SQLAlchemy memoizes, cost a fraction of building them anew each time.
    row = conn.execute(_by_id(), {"melding_id": melding_id}).first()
    return _whole(conn, row) if row is not None else None


def with_delivery(conn: Connection, delivery_id: int) -> tuple[DeliveryRecord | None, Melding | None]:
    """A delivery and, while it still has to be made, its melding: the deliver job's one read."""
    delivery = get_delivery(conn, delivery_id)
    if delivery is None or delivery.state in (DeliveryState.DELIVERED, DeliveryState.DEAD):
        return delivery, None
    return delivery, get(conn, delivery.melding_id)


def get_each(conn: Connection, melding_ids: Sequence[str]) -> list[Melding | None]:
    """`get` of each melding id, in five queries for all of them (`_whole_page`): the worker's
    grouped reads (Store.read_grouped)."""
    rows = list(conn.execute(_by_ids(), {"melding_ids": list(set(melding_ids))}))
    found = {melding.id: melding for melding in _whole_page(conn, rows)}
    return [found.get(melding_id) for melding_id in melding_ids]


def with_delivery_each(
    conn: Connection, delivery_ids: Sequence[int]
) -> list[tuple[DeliveryRecord | None, Melding | None]]:
    """`with_delivery` of each delivery id, their meldingen read together (`get_each`)."""
    found = [get_delivery(conn, delivery_id) for delivery_id in delivery_ids]
    due = [d for d in found if d is not None and d.state not in (DeliveryState.DELIVERED, DeliveryState.DEAD)]
    meldingen_of = dict(
        zip((d.melding_id for d in due), get_each(conn, [d.melding_id for d in due]), strict=True)
    )
    return [(d, meldingen_of.get(d.melding_id) if d in due else None) for d in found]


@functools.cache
def _by_ids() -> Any:
    return select(meldingen).where(meldingen.c.id.in_(bindparam("melding_ids", expanding=True)))


@functools.cache
def _by_id() -> Any:
    return select(meldingen).where(meldingen.c.id == bindparam("melding_id"))


@functools.cache
def _parts() -> tuple[Any, Any, Any]:
    """Status history, attachments and deliveries of one melding, in their order."""
    return tuple(
        select(table).where(table.c.melding_id == bindparam("melding_id")).order_by(table.c.id)
        for table in (status_history, attachments, deliveries)
    )


def by_reference(conn: Connection, reference: str) -> Melding | None:
    return _get_where(conn, meldingen.c.reference == reference)


def by_id_or_reference(conn: Connection, key: str) -> Melding | None:
    """The melding a URL or a command names, by its id or its reference, in one transaction."""
    return get(conn, key) or by_reference(conn, key)


def by_token(conn: Connection, token: str) -> Melding | None:
    """The melding of a tracking page's token."""
    return _get_where(conn, meldingen.c.tracking_token == token)


def _get_where(conn: Connection, condition: Any) -> Melding | None:
    row = conn.execute(select(meldingen).where(condition)).first()
    return _whole(conn, row) if row is not None else None


def _whole(conn: Connection, row: Row[Any]) -> Melding:
    """The melding of a `meldingen` row, with its history, files, deliveries and follow-ups."""
    params = {"melding_id": row.id}
    hist, files, dels = (list(conn.execute(query, params)) for query in _parts())
    melding = _melding(row, hist, files, dels)
    melding.followups = followups_of(conn, row.id)
    return melding


def list_meldingen(conn: Connection, *, stage: Stage | None = None, limit: int = 100) -> list[Melding]:
    """The latest received first."""
    query = select(meldingen).order_by(meldingen.c.received_at.desc()).limit(limit)
    if stage is not None:
        query = query.where(meldingen.c.stage == stage.value)
    return _whole_page(conn, list(conn.execute(query)))


def many(conn: Connection, ids: Sequence[str]) -> dict[str, Melding]:
    """These meldingen by id, read as one page (the desk's duplicate pairs)."""
    if not ids:
        return {}
    rows = list(conn.execute(select(meldingen).where(meldingen.c.id.in_(list(set(ids))))))
    return {m.id: m for m in _whole_page(conn, rows)}


def _whole_page(conn: Connection, rows: list[Row[Any]]) -> list[Melding]:
    """`_whole` for a page of rows in five queries, not five per melding (the desk's queue page
    took 250 for 50 meldingen)."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    parts: list[dict[str, list[Row[Any]]]] = []
    for query in _parts_of_page():
        grouped: dict[str, list[Row[Any]]] = {melding_id: [] for melding_id in ids}
        for part in conn.execute(query, {"melding_ids": ids}):
            grouped[part.melding_id].append(part)
        parts.append(grouped)
    followups = followups_of_many(conn, ids)
    page = []
    for row in rows:
        hist, files, dels = (grouped[row.id] for grouped in parts)
        melding = _melding(row, hist, files, dels)
        melding.followups = followups[row.id]
        page.append(melding)
    return page


@functools.cache
def _parts_of_page() -> tuple[Any, Any, Any]:
    """`_parts` of a page of meldingen, built once (expanding IN): a worker's cohort reads its
    meldingen whole in each batch, and building the IN clause anew was a tenth of that read."""
    ids = bindparam("melding_ids", expanding=True)
    return tuple(
        select(table).where(table.c.melding_id.in_(ids)).order_by(table.c.id)
        for table in (status_history, attachments, deliveries)
    )


def counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Meldingen per stage and deliveries per state (the metrics)."""
    stages = conn.execute(select(meldingen.c.stage, func.count()).group_by(meldingen.c.stage))
    states = conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
    return {"stage": {r[0]: r[1] for r in stages}, "delivery": {r[0]: r[1] for r in states}}


def oldest_undelivered(conn: Connection) -> datetime | None:
    """When the oldest melding still on its way to the case system (received or routed, not yet
    accepted) came in: the age alerting watches. Triage (waiting for the desk) and dead deliveries
    have their own gauges."""
    waiting = (Stage.RECEIVED.value, Stage.ROUTED.value)
    return conn.execute(
        select(func.min(meldingen.c.received_at)).where(meldingen.c.stage.in_(waiting))
    ).scalar()


def unprocessed(conn: Connection, received_before: datetime, limit: int = 1000) -> list[str]:
    """Meldingen still `received` since before `received_before` (the sweep: their job was lost)."""
    rows = conn.execute(
        select(meldingen.c.id)
        .where(meldingen.c.stage == Stage.RECEIVED.value, meldingen.c.received_at < received_before)
        .order_by(meldingen.c.received_at)
        .limit(limit)
    )
    return [r.id for r in rows]


def delivery_of(d: Any) -> Delivery:
    """A melding's view of one delivery, from a `deliveries` row or a DeliveryRecord."""
    return Delivery(
        event=d.event,
        state=DeliveryState(d.state),
        attempts=d.attempts,
        last_error=d.last_error,
        case_id=d.case_id,
        updated_at=d.updated_at,
    )


def _melding(row: Row[Any], hist: list[Row[Any]], files: list[Row[Any]], dels: list[Row[Any]]) -> Melding:
    return Melding(
        id=row.id,
        reference=row.reference,
        channel=row.channel,
        external_id=row.external_id,
        received_at=row.received_at,
        reporter=Reporter(
            name=row.reporter_name,
            email=row.reporter_email,
            phone=row.reporter_phone,
            feedback=row.reporter_feedback,
        ),
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
                state=f.state,
                error=f.error,
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
        status_history=[status_change(h) for h in hist],
        deliveries=[delivery_of(d) for d in dels],
        tracking_token=row.tracking_token,
    )


# -- routing ---------------------------------------------------------------------------------------


def set_routing(
    conn: Connection,
    melding_id: str,
    decision: RoutingDecision,
    *,
    stage: Stage | None = None,
    also: dict[str, Any] | None = None,
) -> None:
    """Record the routing; the melding moves to `stage` (by default the decision's own: routed or
    triage; a channel that answers at once says `answered`). `also`: more columns set in the same
    UPDATE (the worker's location and duplicate link)."""
    conn.execute(update_by_id(), {**_routing_values(decision, stage, also), "melding_id": melding_id})


def _routing_values(
    decision: RoutingDecision, stage: Stage | None, also: dict[str, Any] | None
) -> dict[str, Any]:
    now = utcnow()
    return {
        **(also or {}),
        "dienst": decision.dienst,
        "confidence": decision.confidence,
        "routed_by": decision.routed_by,
        "alternatives": [list(a) for a in decision.alternatives],
        "stage": (stage or decision.stage).value,
        "processed_at": now,
        "updated_at": now,
    }


@functools.cache
def update_by_id() -> Any:
    """UPDATE of one melding (bind `melding_id`), its SET columns named by the parameters: built
    once, as the worker updates every melding a few times."""
    return update(meldingen).where(meldingen.c.id == bindparam("melding_id"))


def route(
    conn: Connection,
    melding_id: str,
    decision: RoutingDecision,
    *,
    also: dict[str, Any] | None = None,
    reference: str | None = None,
) -> DeliveryRecord | None:
    """Record the routing (with the columns in `also`) and, for a routed melding, its first
    delivery (idempotent): one transaction. `reference`: the melding's (`deliveries.ensure`).
    On PostgreSQL, with `reference`, both are one statement (the UPDATE a CTE of the delivery's
    INSERT): every routing of the worker makes one, and each statement is a round trip."""
    event = decision.delivery_event
    if event and reference is not None and conn.dialect.name == "postgresql":
        values = _routing_values(decision, None, also)
        along = (
            _routing_cte(tuple(sorted(values))),
            {"r_melding_id": melding_id} | {f"r_{k}": v for k, v in values.items()},
        )
        return ensure(conn, melding_id, event, key="created", reference=reference, along=along)
    set_routing(conn, melding_id, decision, also=also)
    return ensure(conn, melding_id, event, key="created", reference=reference) if event else None


@functools.cache
def _routing_cte(columns: tuple[str, ...]) -> Any:
    """`set_routing`'s UPDATE as a CTE, its parameters prefixed `r_` (apart from the INSERT's)."""
    values = {c: bindparam(f"r_{c}", type_=meldingen.c[c].type) for c in columns}
    return update(meldingen).where(meldingen.c.id == bindparam("r_melding_id")).values(values).cte("routed")
