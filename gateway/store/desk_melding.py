"""What the desk's melding page reads and changes beside status and duplicates (README "Desk
workplace", A melding's page): the reporter's other meldingen, a new dienst for a routed melding,
and resending one dead delivery (what `gateway deliveries --retry` does, for that delivery)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from gateway.melding import EVENT_CREATED, EVENT_UPDATED, DeliveryState, Stage
from gateway.store import desk, desk_actions
from gateway.store.deliveries import DeliveryRecord, ensure, revive_dead, where
from gateway.store.schema import deliveries, meldingen
from gateway.store.sql import utcnow

OTHERS_LIMIT = 20


@dataclass(frozen=True)
class Other:
    id: str
    reference: str
    received_at: datetime
    status: str
    dienst: str | None
    excerpt: str


def others_of_reporter(
    conn: Connection, melding_id: str, email: str | None, phone: str | None
) -> list[Other]:
    """The reporter's other meldingen (same e-mail address or phone number), the newest first."""
    same = [
        c == v for c, v in ((meldingen.c.reporter_email, email), (meldingen.c.reporter_phone, phone)) if v
    ]
    if not same:
        return []
    m = meldingen.c
    rows = conn.execute(
        select(m.id, m.reference, m.received_at, m.status, m.dienst, m.text)
        .where(or_(*same), m.id != melding_id)
        .order_by(m.received_at.desc(), m.id)
        .limit(OTHERS_LIMIT)
    )
    return [
        Other(r.id, r.reference, r.received_at, r.status, r.dienst, str(r.text)[: desk.EXCERPT]) for r in rows
    ]


@dataclass(frozen=True)
class Rerouted:
    outcome: str  # "routed" (it was in triage), "rerouted", "unchanged", "not_routed"
    to_send: tuple[DeliveryRecord, ...] = ()


def reroute(conn: Connection, melding_id: str, dienst: str, source: str) -> Rerouted:
    """Another dienst, under the operator's name (routed_by "desk:<name>": a training example, as
    a triage decision). In triage: routed as from the triage page. Routed and still on its way: its
    `melding.created` carries the new dienst. Already a case: the case system is told with a
    `melding.updated` (update `dienst_changed`). Not for a melding answered at intake or not yet
    processed (stage received: the worker decides first)."""
    row = conn.execute(
        select(meldingen.c.stage, meldingen.c.dienst).where(meldingen.c.id == melding_id)
    ).first()
    if row is None or row.stage in (Stage.RECEIVED.value, Stage.ANSWERED.value):
        return Rerouted("not_routed")
    if row.stage == Stage.TRIAGE.value:
        # as the triage page: the caller enqueues `process` (duplicates compared, then delivered)
        outcome, _ = desk.route(conn, melding_id, dienst, routed_by=source)
        desk_actions.record(conn, melding_id, desk_actions.REROUTED, source, note=f"triage → {dienst}")
        return Rerouted(outcome)
    if row.dienst == dienst:
        return Rerouted("unchanged")
    m = meldingen.c
    conn.execute(
        update(meldingen)
        .where(m.id == melding_id)
        .values(dienst=dienst, routed_by=source, confidence=1.0, updated_at=utcnow())
    )
    desk_actions.record(conn, melding_id, desk_actions.REROUTED, source, note=f"{row.dienst} → {dienst}")
    created = where(conn, deliveries.c.idempotency_key == f"{melding_id}:{EVENT_CREATED}:created")
    if created is None or created.state != DeliveryState.DELIVERED:
        return Rerouted("rerouted")  # the case, when it is made, gets the new dienst
    n = desk_actions.count(conn, melding_id, desk_actions.REROUTED)
    text = f"De 1777-balie ({source}) gaf deze melding een andere dienst: {row.dienst} → {dienst}."
    payload = {
        "update": "dienst_changed",
        "dienst_changed": {"from": row.dienst, "to": dienst, "by": source},
        "followup": {"channel": "desk", "received_at": utcnow().isoformat(), "text": text},
    }
    told = ensure(conn, melding_id, EVENT_UPDATED, key=f"dienst:{n}", payload=payload)
    return Rerouted("rerouted", (told,))


def resend(conn: Connection, melding_id: str, delivery_id: int, source: str) -> DeliveryRecord | None:
    """A dead delivery of this melding back to pending with a fresh budget, recorded; None when it
    is not this melding's or not dead (resent already, or delivered meanwhile)."""
    owned = where(conn, (deliveries.c.id == delivery_id) & (deliveries.c.melding_id == melding_id))
    if owned is None or owned.state != DeliveryState.DEAD:
        return None
    [revived] = revive_dead(conn, delivery_ids=[delivery_id])
    note = f"{revived.event} ({revived.idempotency_key.rsplit(':', 1)[-1]})"
    desk_actions.record(conn, melding_id, desk_actions.RESENT, source, other_id=str(delivery_id), note=note)
    return revived
