"""The 1777 desk's routing decisions: a melding waiting in triage gets the dienst the desk chose
(gateway/http/desk.py), and those decisions come back as training examples (`gateway train`)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from gateway.melding import RoutingDecision, Stage
from gateway.store.deliveries import ensure
from gateway.store.schema import meldingen
from gateway.store.sql import utcnow

DESK = "desk"  # routed_by of a dienst chosen by the 1777 desk


def route(conn: Connection, melding_id: str, dienst: str) -> tuple[str, str | None]:
    """The desk routes a melding that waits in triage, and its first delivery is created.

    Returns (outcome, stage): "routed"; "unchanged" (the desk chose this dienst before: a repeat);
    "not_in_triage" with the current stage; "missing". The stage condition is in the UPDATE, so two
    desk decisions at once cannot both win.
    """
    decision = RoutingDecision(dienst, 1.0, DESK)
    done = conn.execute(
        update(meldingen)
        .where(meldingen.c.id == melding_id, meldingen.c.stage == Stage.TRIAGE.value)
        .values(
            dienst=decision.dienst,
            confidence=decision.confidence,
            routed_by=decision.routed_by,
            stage=decision.stage.value,
            updated_at=utcnow(),
        )
    )
    if done.rowcount == 1:
        # Created here, not only by the process job: the sweep resends it if that job is lost.
        assert decision.delivery_event is not None
        ensure(conn, melding_id, decision.delivery_event, key="created")
        return "routed", decision.stage.value
    columns = (meldingen.c.stage, meldingen.c.dienst, meldingen.c.routed_by)
    row = conn.execute(select(*columns).where(meldingen.c.id == melding_id)).first()
    if row is None:
        return "missing", None
    if row.routed_by == DESK and row.dienst == dienst:
        return "unchanged", row.stage
    return "not_in_triage", row.stage


def decisions(conn: Connection, limit: int = 100_000) -> list[tuple[str | None, str, str]]:
    """(subject, text, dienst) of meldingen the desk routed, oldest first: extra training examples."""
    rows = conn.execute(
        select(meldingen.c.subject, meldingen.c.text, meldingen.c.dienst)
        .where(meldingen.c.routed_by == DESK, meldingen.c.dienst.is_not(None))
        .order_by(meldingen.c.received_at, meldingen.c.id)
        .limit(limit)
    )
    return [(r.subject, r.text, r.dienst) for r in rows]
