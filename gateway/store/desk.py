"""The 1777 desk's routing decisions: a melding waiting in triage gets the dienst the desk chose
(gateway/http/desk.py, the desk's pages), and those decisions come back as training examples
(`gateway train`). Also what the desk's pages list: the triage queue and the meldingen waiting for
their reporter's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement

from gateway.melding import Channel, Stage, Status
from gateway.store.schema import meldingen, status_history
from gateway.store.sql import utcnow

DESK = "desk"  # routed_by of a dienst chosen by the 1777 desk (the signed JSON endpoint)
EXCERPT = 300  # characters of a melding's text shown in a list


def by_operator(name: str) -> str:
    """routed_by and status_history.source of what a named operator did: "desk:<name>"."""
    return f"{DESK}:{name}"


def _chosen_by_desk() -> ColumnElement[bool]:
    return or_(meldingen.c.routed_by == DESK, meldingen.c.routed_by.like(f"{DESK}:%"))


def route(conn: Connection, melding_id: str, dienst: str, routed_by: str = DESK) -> tuple[str, str | None]:
    """The desk routes a melding that waits in triage: the dienst is recorded and the melding goes
    back to stage received, so that the worker's process job (the caller enqueues it; the sweep does
    again should it be lost) routes it as it routes every melding: compared with the open meldingen
    of that dienst (a duplicate is linked to the problem's first report, a plausible one suggested to
    the desk), located, and then its first delivery. A melding in triage was never compared (it had
    no dienst), nor could a later report be linked to it.

    Returns (outcome, stage): "routed"; "unchanged" (the desk chose this dienst before: a repeat);
    "not_in_triage" with the current stage; "missing". The stage condition is in the UPDATE, so two
    desk decisions at once cannot both win.
    """
    done = conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id, meldingen.c.stage == Stage.TRIAGE.value)
        .values(
            dienst=dienst,
            confidence=1.0,
            routed_by=routed_by,
            stage=Stage.RECEIVED.value,
            updated_at=utcnow(),
        )
    )
    if done.rowcount == 1:
        return "routed", Stage.RECEIVED.value
    columns = (meldingen.c.stage, meldingen.c.dienst, meldingen.c.routed_by)
    row = conn.execute(select(*columns).where(meldingen.c.id == melding_id)).first()
    if row is None:
        return "missing", None
    if (row.routed_by == DESK or str(row.routed_by).startswith(f"{DESK}:")) and row.dienst == dienst:
        return "unchanged", row.stage
    return "not_in_triage", row.stage


def decisions(conn: Connection, limit: int = 100_000) -> list[tuple[str | None, str, str]]:
    """(subject, text, dienst) of meldingen the desk routed, oldest first: extra training examples."""
    rows = conn.execute(
        select(meldingen.c.subject, meldingen.c.text, meldingen.c.dienst)
        .where(_chosen_by_desk(), meldingen.c.dienst.is_not(None))
        .order_by(meldingen.c.received_at, meldingen.c.id)
        .limit(limit)
    )
    return [(r.subject, r.text, r.dienst) for r in rows]


def close_at_desk(conn: Connection, melding_id: str) -> None:
    """A melding the desk answered before it was routed leaves the triage queue (stage answered,
    as a call answered at once): it is not delivered; the process job leaves it alone."""
    conn.execute(
        update(meldingen)
        .where(
            meldingen.c.id == melding_id,
            meldingen.c.stage.in_((Stage.RECEIVED.value, Stage.TRIAGE.value)),
        )
        .values(stage=Stage.ANSWERED.value, updated_at=utcnow())
    )


@dataclass(frozen=True)
class Listed:
    """One melding as a desk list shows it."""

    id: str
    reference: str
    channel: Channel
    received_at: datetime
    excerpt: str
    alternatives: list[tuple[str, float]]  # the classifier's top three (dienst, confidence)
    since: datetime | None = None  # waiting list: when it started waiting
    # 0.0 when no model judged it (rules only): the alternatives are then the rules' shares of the
    # evidence, not probabilities, and the desk shows no percentage (None: not classified yet).
    confidence: float | None = None  # waiting list: when it started waiting


def _listed(row: Row[Any], since: datetime | None = None) -> Listed:
    text = str(row.text)
    alternatives = [(str(d), float(p)) for d, p in (row.alternatives or [])][:3]
    return Listed(
        id=row.id,
        reference=row.reference,
        channel=Channel(row.channel),
        received_at=row.received_at,
        excerpt=text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…",
        alternatives=alternatives,
        since=since,
        confidence=row.confidence,
    )


_LISTED = (
    meldingen.c.id,
    meldingen.c.reference,
    meldingen.c.channel,
    meldingen.c.received_at,
    meldingen.c.text,
    meldingen.c.alternatives,
    meldingen.c.confidence,
)


def triage(conn: Connection, offset: int, limit: int) -> tuple[list[Listed], int]:
    """The triage queue, oldest first (index ix_meldingen_stage_received), and its length."""
    in_triage = meldingen.c.stage == Stage.TRIAGE.value
    rows = conn.execute(
        select(*_LISTED)
        .where(in_triage)
        .order_by(meldingen.c.received_at, meldingen.c.id)
        .offset(offset)
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(meldingen).where(in_triage)).scalar_one()
    return [_listed(r) for r in rows], int(total)


def waiting(conn: Connection, offset: int, limit: int) -> tuple[list[Listed], int]:
    """A page of the meldingen waiting for their reporter's answer, the longest waiting first, with
    since when (the last change to Wachten op antwoord), and how many wait in all."""
    is_waiting = meldingen.c.status == Status.WACHTEN_OP_ANTWOORD.value
    rows = list(
        conn.execute(
            select(*_LISTED)
            .where(is_waiting)
            # read off index ix_meldingen_status_updated_id in its order: no sort of every waiting one
            .order_by(meldingen.c.updated_at, meldingen.c.id)
            .offset(offset)
            .limit(limit)
        )
    )
    since = dict(
        conn.execute(
            select(status_history.c.melding_id, func.max(status_history.c.at))
            .where(
                status_history.c.melding_id.in_([r.id for r in rows]),
                status_history.c.status == Status.WACHTEN_OP_ANTWOORD.value,
            )
            .group_by(status_history.c.melding_id)
        ).all()
    )
    total = conn.execute(select(func.count()).select_from(meldingen).where(is_waiting)).scalar_one()
    listed = sorted((_listed(r, since.get(r.id)) for r in rows), key=lambda m: m.since or m.received_at)
    return listed, int(total)
