"""What an operator did to a melding that is no status change (table desk_actions, migration 0017):
confirming or rejecting a duplicate suggestion, splitting a link, resending a dead delivery,
changing the dienst. Status changes stay in status_history (source "desk:<name>"); the melding's
desk page shows both as one history. A rejected pair is never suggested again
(`duplicates.save_suggestions` asks `rejected`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from gateway.store.schema import desk_actions
from gateway.store.sql import utcnow

CONFIRMED = "duplicate_confirmed"
REJECTED = "duplicate_rejected"
SPLIT = "duplicate_split"
RESENT = "delivery_resent"
REROUTED = "rerouted"


@dataclass(frozen=True)
class DeskAction:
    action: str
    other_id: str | None
    source: str
    note: str | None
    at: datetime


def record(
    conn: Connection,
    melding_id: str,
    action: str,
    source: str,
    *,
    other_id: str | None = None,
    note: str | None = None,
) -> None:
    """Notes name references and dienst codes only: no personal data for retention to find."""
    values = {"melding_id": melding_id, "action": action, "other_id": other_id, "source": source}
    conn.execute(desk_actions.insert().values(**values, note=note, at=utcnow()))


def of(conn: Connection, melding_id: str) -> list[DeskAction]:
    a = desk_actions.c
    rows = conn.execute(select(desk_actions).where(a.melding_id == melding_id).order_by(a.at, a.id))
    return [DeskAction(r.action, r.other_id, r.source, r.note, r.at) for r in rows]


def rejected(conn: Connection, melding_id: str) -> set[str]:
    """The candidates the desk said are not this melding's problem."""
    a = desk_actions.c
    query = select(a.other_id).where(a.melding_id == melding_id, a.action == REJECTED)
    return {str(r) for r in conn.execute(query).scalars() if r}


def count(conn: Connection, melding_id: str, action: str) -> int:
    a = desk_actions.c
    query = (
        select(func.count()).select_from(desk_actions).where(a.melding_id == melding_id, a.action == action)
    )
    return int(conn.execute(query).scalar_one())


def confirmed_by(conn: Connection, melding_id: str, master_id: str) -> str | None:
    """Who confirmed this melding as a duplicate of that master (the last such confirmation)."""
    a = desk_actions.c
    query = (
        select(a.source)
        .where(a.melding_id == melding_id, a.action == CONFIRMED, a.other_id == master_id)
        .order_by(a.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar_one_or_none()
