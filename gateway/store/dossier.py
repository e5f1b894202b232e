"""Everything the store knows about one melding, gathered in one read: the ombudsman's dossier
(`gateway dossier`), and later the desk's melding page.

Each part is read from the table that owns it: the status history with the notification decisions
and SMS receipts of each change, every inbound message recorded for the melding, its follow-ups,
its deliveries and portal pushes with every attempt of each (`delivery_attempts`), MMS media,
and the meldingen linked as duplicates (either way) with their reporters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from gateway.melding import Melding, Reporter, StatusChange
from gateway.store import meldingen as meldingen_store
from gateway.store.attempts import AttemptRecord
from gateway.store.attempts import of_melding as attempts_of
from gateway.store.history import status_change
from gateway.store.media import MediaRecord, media_of
from gateway.store.schema import (
    deliveries,
    inbound_messages,
    meldingen,
    notifications,
    status_history,
    status_pushes,
)
from gateway.store.sms import SmsMessage, messages_of
from gateway.store.sql import row_as


@dataclass(frozen=True)
class HistoryEntry:
    """A status change with its id: the key its notification decisions and SMS are recorded under."""

    id: int
    change: StatusChange


@dataclass(frozen=True)
class NotificationDecision:
    history_id: int
    channel: str  # the rule: email-ack, email, sms, sms-question, sms-ack (a call's or a chosen SMS's)
    recipient: str | None
    state: str  # sent, skipped, retrying, failed
    detail: str | None  # the Message-ID sent, or why it was skipped or failed
    created_at: datetime


@dataclass(frozen=True)
class DeliveryAttempts:
    """One event owed to the case system: its counters (attempts since the last manual retry,
    when the first failed, the last error: cleared once delivered); each attempt is in
    `Dossier.attempts`."""

    id: int
    event: str
    state: str
    attempts: int
    last_error: str | None
    case_id: str | None
    created_at: datetime
    first_failed_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class PortalPush:
    """One status change pushed (or owed) to one citizen portal feed."""

    id: int
    history_id: int
    feed: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    pushed_at: datetime | None


@dataclass(frozen=True)
class InboundMessage:
    """A message a channel received for this melding (the mail that made it, a reply)."""

    channel: str
    received_at: datetime
    source: str
    sender: str | None
    subject: str | None
    kind: str
    reason: str | None
    dedupe_key: str


@dataclass(frozen=True)
class LinkedMelding:
    """Another melding linked to this one as a duplicate (of it, or it of that one)."""

    id: str
    reference: str
    channel: str
    received_at: datetime
    reporter: Reporter
    text: str
    status: str
    duplicate_score: float | None
    duplicate_reason: str | None


@dataclass(frozen=True)
class Dossier:
    melding: Melding
    history: list[HistoryEntry]
    notifications: list[NotificationDecision]
    sms: list[SmsMessage]
    inbound: list[InboundMessage]
    deliveries: list[DeliveryAttempts]
    media: list[MediaRecord]
    duplicate_of: LinkedMelding | None
    duplicates: list[LinkedMelding] = field(default_factory=list)
    pushes: list[PortalPush] = field(default_factory=list)
    attempts: list[AttemptRecord] = field(default_factory=list)  # of the deliveries and pushes

    def notifications_of(self, history_id: int) -> list[NotificationDecision]:
        return [n for n in self.notifications if n.history_id == history_id]

    def sms_of(self, history_id: int) -> list[SmsMessage]:
        return [s for s in self.sms if s.history_id == history_id]

    def attempts_of_delivery(self, delivery_id: int) -> list[AttemptRecord]:
        return [a for a in self.attempts if a.delivery_id == delivery_id]

    def attempts_of_push(self, push_id: int) -> list[AttemptRecord]:
        return [a for a in self.attempts if a.push_id == push_id]

    def status_of(self, history_id: int) -> str | None:
        """The status of one history entry (what a push carried)."""
        return next((h.change.status.value for h in self.history if h.id == history_id), None)


def gather(conn: Connection, key: str) -> Dossier | None:
    """The dossier of the melding with this reference or id; None when there is none."""
    melding = meldingen_store.by_id_or_reference(conn, key)
    return of_melding(conn, melding) if melding is not None else None


def of_melding(conn: Connection, melding: Melding) -> Dossier:
    """The dossier of a melding already read in this transaction (the desk's page: not read twice)."""
    master = _linked(conn, "id", melding.duplicate_of) if melding.duplicate_of else []
    return Dossier(
        melding=melding,
        history=_history(conn, melding.id),
        notifications=_rows(conn, NotificationDecision, notifications, melding.id),
        sms=messages_of(conn, melding.id),
        inbound=_inbound(conn, melding.id),
        deliveries=_rows(conn, DeliveryAttempts, deliveries, melding.id),
        media=media_of(conn, melding.id),
        duplicate_of=master[0] if master else None,
        duplicates=_linked(conn, "duplicate_of", melding.id),
        pushes=_rows(conn, PortalPush, status_pushes, melding.id),
        attempts=attempts_of(conn, melding.id),
    )


# A dossier is a dozen small reads: statements built once (their cache keys memoized by
# SQLAlchemy) cost a fraction of building them anew for each view of the desk's page.
@functools.cache
def _of_melding(table: Any, *order: str) -> Any:
    """`table`'s rows of one melding (bound as `melding_id`), in `order` (its id by default)."""
    columns = [table.c[name] for name in order or ("id",)]
    return select(table).where(table.c.melding_id == bindparam("melding_id")).order_by(*columns)


def _history(conn: Connection, melding_id: str) -> list[HistoryEntry]:
    rows = conn.execute(_of_melding(status_history), {"melding_id": melding_id})
    return [HistoryEntry(r.id, status_change(r)) for r in rows]


def _rows(conn: Connection, cls: type[Any], table: Any, melding_id: str) -> list[Any]:
    rows = conn.execute(_of_melding(table), {"melding_id": melding_id})
    return [row_as(cls, r) for r in rows]


def _inbound(conn: Connection, melding_id: str) -> list[InboundMessage]:
    rows = conn.execute(_of_melding(inbound_messages, "received_at", "id"), {"melding_id": melding_id})
    return [row_as(InboundMessage, r) for r in rows]


@functools.cache
def _linked_by(column: str) -> Any:
    """The meldingen whose `column` is the bound `key`: the master (by id) or the duplicates."""
    m = meldingen.c
    return select(meldingen).where(m[column] == bindparam("key")).order_by(m.received_at, m.id)


def _linked(conn: Connection, column: str, key: str) -> list[LinkedMelding]:
    rows = conn.execute(_linked_by(column), {"key": key})
    return [
        LinkedMelding(
            id=r.id,
            reference=r.reference,
            channel=r.channel,
            received_at=r.received_at,
            reporter=Reporter.model_construct(
                name=r.reporter_name, email=r.reporter_email, phone=r.reporter_phone
            ),
            text=r.text,
            status=r.status,
            duplicate_score=r.duplicate_score,
            duplicate_reason=r.duplicate_reason,
        )
        for r in rows
    ]
