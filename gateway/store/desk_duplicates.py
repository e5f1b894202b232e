"""The desk's duplicate decisions (README "Desk workplace", Duplicates): the suggestions the
duplicate finder was not sure of, confirmed (the same link and extra-reporter delivery as the
worker's automatic link, `duplicates.route_dedupe`) or rejected (remembered: never offered again),
and an automatic or confirmed link split again (the melding becomes its own case). Each in one
transaction, recorded in desk_actions under the operator's name.

The desk only changes a link once the deliveries it touches have settled: while the melding's own
`melding.created` or its extra-reporter update still waits, the case system's picture is about to
change, and a decision then could cross it (`not_settled`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select, update

from gateway.melding import (
    EVENT_CREATED,
    EVENT_UPDATED,
    UPDATE_MERGED,
    UPDATE_SPLIT,
    DeliveryState,
    Melding,
    Stage,
)
from gateway.store import desk_actions
from gateway.store.deliveries import DeliveryRecord, ensure, where
from gateway.store.duplicates import REPORTER_KEY
from gateway.store.meldingen import many
from gateway.store.schema import deliveries, duplicate_suggestions, meldingen
from gateway.store.sql import utcnow

_WAITING = (DeliveryState.PENDING, DeliveryState.RETRYING)


@dataclass(frozen=True)
class Pair:
    """One suggestion as the desk weighs it: the new melding beside the problem it may report."""

    melding: Melding
    candidate: Melding
    score: float
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Decided:
    """What a desk decision did: `outcome` ("confirmed", "rejected", "split", or why nothing was
    done: "gone", "already_linked", "is_master", "not_settled", "not_linked") and the deliveries
    the caller enqueues."""

    outcome: str
    to_send: tuple[DeliveryRecord, ...] = ()
    other_reference: str | None = None


def pairs(conn: Connection, offset: int, limit: int) -> tuple[list[Pair], int]:
    """One page of open suggestions, the newest first, and how many there are in all."""
    s = duplicate_suggestions.c
    order = (s.created_at.desc(), s.melding_id, s.candidate_id)  # a total order: pages never overlap
    query = select(duplicate_suggestions).order_by(*order).offset(offset).limit(limit)
    rows = list(conn.execute(query))
    total = conn.execute(select(func.count()).select_from(duplicate_suggestions)).scalar_one()
    read = many(conn, [r.melding_id for r in rows] + [r.candidate_id for r in rows])
    found = [
        Pair(read[r.melding_id], read[r.candidate_id], float(r.score), r.reason, r.created_at)
        for r in rows
        if r.melding_id in read and r.candidate_id in read
    ]
    return found, int(total)


def suggestion(conn: Connection, melding_id: str, candidate_id: str) -> Any:
    s = duplicate_suggestions.c
    return conn.execute(
        select(duplicate_suggestions).where(s.melding_id == melding_id, s.candidate_id == candidate_id)
    ).first()


def _delivery(conn: Connection, melding_id: str, event: str, key: str) -> DeliveryRecord | None:
    return where(conn, deliveries.c.idempotency_key == f"{melding_id}:{event}:{key}")


def _waits(record: DeliveryRecord | None) -> bool:
    return record is not None and record.state in _WAITING


@dataclass(frozen=True)
class Confirm:
    melding_id: str
    candidate_id: str
    source: str  # "desk:<name>"
    payload: dict[str, Any]  # the reporter_added update (gateway.dedupe.service.reporter_payload)


def confirm(conn: Connection, decision: Confirm) -> Decided:
    """The melding becomes a duplicate of the candidate's problem (its first report): the master's
    case gets the extra reporter (`melding.updated`, key reporter:<id>, as the automatic link), and
    once that is delivered the worker gives the melding the master's status and tells its reporter
    (`duplicates.acknowledge_duplicate`). The melding's own case, if it got one, is named in the
    update (`own_case_id`) and is itself told to close as a duplicate (`_merged`)."""
    m, c = meldingen.c, duplicate_suggestions.c
    found = suggestion(conn, decision.melding_id, decision.candidate_id)
    row = conn.execute(select(m.duplicate_of).where(m.id == decision.melding_id)).first()
    candidate = conn.execute(select(m.duplicate_of).where(m.id == decision.candidate_id)).first()
    if found is None or row is None or candidate is None:
        return Decided("gone")
    if row.duplicate_of is not None:
        return Decided("already_linked")
    if conn.execute(select(exists().where(m.duplicate_of == decision.melding_id))).scalar():
        return Decided("is_master")  # its own reporters would have to move along: the desk splits first
    own = _delivery(conn, decision.melding_id, EVENT_CREATED, "created")
    if _waits(own):
        return Decided("not_settled")
    master_id = candidate.duplicate_of or decision.candidate_id
    reason = f"bevestigd door {decision.source}" + (f": {found.reason}" if found.reason else "")
    conn.execute(
        update(meldingen)
        .where(m.id == decision.melding_id)
        .values(
            duplicate_of=master_id, duplicate_score=found.score, duplicate_reason=reason, updated_at=utcnow()
        )
    )
    added = dict(decision.payload["reporter_added"], confirmed_by=decision.source, duplicate_reason=reason)
    if own is not None and own.case_id:
        added["own_case_id"] = own.case_id
    payload = {**decision.payload, "reporter_added": added}
    update_master = ensure(
        conn, master_id, EVENT_UPDATED, key=REPORTER_KEY + decision.melding_id, payload=payload
    )
    conn.execute(delete(duplicate_suggestions).where(c.melding_id == decision.melding_id))  # decided
    master_ref = conn.execute(select(m.reference).where(m.id == master_id)).scalar_one()
    to_send = [update_master]
    if own is not None and own.state == DeliveryState.DELIVERED:
        to_send.append(_merged(conn, decision, own, master_id, master_ref))
    desk_actions.record(
        conn,
        decision.melding_id,
        desk_actions.CONFIRMED,
        decision.source,
        other_id=master_id,
        note=master_ref,
    )
    return Decided("confirmed", tuple(to_send), master_ref)


def _merged(
    conn: Connection, decision: Confirm, own: DeliveryRecord, master_id: str, master_ref: str
) -> DeliveryRecord:
    """The melding's own case told that it is a duplicate now, to be closed: a `melding.updated`
    on that case (`"update": "merged"`, `merged_into: {id, reference, case_id, by}`, plus a
    `followup` text: TOPdesk adds it as an action and closes the incident). One per confirmation
    (a split, then a second confirmation, tells it again)."""
    master_case = _delivery(conn, master_id, EVENT_CREATED, "created")
    reference = conn.execute(select(meldingen.c.reference).where(meldingen.c.id == decision.melding_id))
    text = (
        f"Melding {reference.scalar_one()} is een duplicaat van melding {master_ref}"
        f" (bevestigd door {decision.source}): deze zaak mag gesloten worden; de opvolging gebeurt"
        f" in de zaak van {master_ref}."
    )
    payload = {
        "update": UPDATE_MERGED,
        "merged_into": {
            "id": master_id,
            "reference": master_ref,
            "case_id": master_case.case_id if master_case else None,
            "own_case_id": own.case_id,
            "by": decision.source,
        },
        "followup": {"channel": "desk", "received_at": utcnow().isoformat(), "text": text},
    }
    n = desk_actions.count(conn, decision.melding_id, desk_actions.CONFIRMED) + 1
    return ensure(conn, decision.melding_id, EVENT_UPDATED, key=f"merged:{n}", payload=payload)


def reject(conn: Connection, melding_id: str, candidate_id: str, source: str) -> Decided:
    """Not the same problem: the suggestion goes, and the pair is never suggested again."""
    c = duplicate_suggestions.c
    if suggestion(conn, melding_id, candidate_id) is None:
        return Decided("gone")
    conn.execute(
        delete(duplicate_suggestions).where(c.melding_id == melding_id, c.candidate_id == candidate_id)
    )
    reference = conn.execute(select(meldingen.c.reference).where(meldingen.c.id == candidate_id)).scalar_one()
    desk_actions.record(
        conn, melding_id, desk_actions.REJECTED, source, other_id=candidate_id, note=reference
    )
    return Decided("rejected", (), reference)


def split(conn: Connection, melding_id: str, source: str) -> Decided:
    """A linked melding becomes its own melding again: no longer a duplicate (the master's later
    statuses no longer pass to it), its own `melding.created` (a new case; the one it had before a
    confirmed link, if any, stays its case and is told it is its own again: `_handed_back`), and
    the master's case told that this reporter is not
    one of its own (`melding.updated`, update `reporter_removed`). Its status stays what it is
    until its own case sets one: no transition is forced."""
    m = meldingen.c
    row = conn.execute(select(m.duplicate_of, m.reference, m.stage).where(m.id == melding_id)).first()
    if row is None:
        return Decided("gone")
    if row.duplicate_of is None:
        return Decided("not_linked")
    master_id = row.duplicate_of
    if _waits(_delivery(conn, master_id, EVENT_UPDATED, REPORTER_KEY + melding_id)):
        return Decided("not_settled")
    now = utcnow()
    values: dict[str, Any] = {"duplicate_of": None, "duplicate_score": None, "duplicate_reason": None}
    if row.stage in (Stage.DELIVERED.value, Stage.DEAD.value, Stage.ROUTED.value):
        values["stage"] = Stage.ROUTED.value
    conn.execute(update(meldingen).where(m.id == melding_id).values(**values, updated_at=now))
    created = ensure(conn, melding_id, EVENT_CREATED, key="created")
    if created.state == DeliveryState.DELIVERED:  # its own case from before the confirmed link
        conn.execute(update(meldingen).where(m.id == melding_id).values(stage=Stage.DELIVERED.value))
    master_ref = conn.execute(select(m.reference).where(m.id == master_id)).scalar_one()
    n = desk_actions.count(conn, melding_id, desk_actions.SPLIT) + 1
    removed = ensure(
        conn,
        master_id,
        EVENT_UPDATED,
        key=f"reporter-removed:{melding_id}:{n}",
        payload=_removal(row.reference, melding_id, source),
    )
    sent = [created, removed]
    if created.state == DeliveryState.DELIVERED and created.case_id:  # told to close on confirm: reopen
        payload = _handed_back(row.reference, created.case_id, master=(master_id, master_ref), source=source)
        sent.append(ensure(conn, melding_id, EVENT_UPDATED, key=f"split:{n}", payload=payload))
    desk_actions.record(conn, melding_id, desk_actions.SPLIT, source, other_id=master_id, note=master_ref)
    to_send = tuple(d for d in sent if d.state in _WAITING)
    return Decided("split", to_send, master_ref)


def _removal(reference: str, melding_id: str, source: str) -> dict[str, Any]:
    """The master's case told that a reporter went: structured (`reporter_removed`) and as a
    follow-up text, which a case system that knows only follow-ups (TOPdesk) shows as an action."""
    text = f"Melding {reference} is geen melding van dit probleem meer (losgekoppeld door {source})."
    return {
        "update": "reporter_removed",
        "reporter_removed": {"id": melding_id, "reference": reference, "by": source},
        "followup": {"channel": "desk", "received_at": utcnow().isoformat(), "text": text},
    }


def _handed_back(reference: str, own_case_id: str, *, master: tuple[str, str], source: str) -> dict[str, Any]:
    """The melding's own case, told to close when the link was confirmed (`_merged`), handed back:
    a `melding.updated` on it (`"update": "split"`, `split_from: {id, reference, own_case_id, by}`,
    plus a `followup` text; TOPdesk reopens the incident with it as an action)."""
    text = (
        f"Melding {reference} is geen duplicaat van melding {master[1]} meer (losgekoppeld door"
        f" {source}): deze zaak is weer de zaak van deze melding en wordt verder opgevolgd."
    )
    return {
        "update": UPDATE_SPLIT,
        "split_from": {"id": master[0], "reference": master[1], "own_case_id": own_case_id, "by": source},
        "followup": {"channel": "desk", "received_at": utcnow().isoformat(), "text": text},
    }
