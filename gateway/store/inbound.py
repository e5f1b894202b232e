"""Store operations for what channels receive besides new meldingen: the inbound
audit trail (with its dedupe key) and follow-ups on existing meldingen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.melding import EVENT_FOLLOWUP, Attachment, Followup, Stage, Status
from gateway.store import queries
from gateway.store.media import record_media, take_media
from gateway.store.queries import DeliveryRecord, _insert, utcnow
from gateway.store.schema import attachments, followups, inbound_messages, meldingen


def record_inbound(conn: Connection, row: dict[str, Any]) -> bool:
    """Keep one row per (channel, dedupe_key); False when that message was recorded before.
    MMS media the record carries are recorded with it (gateway.store.media)."""
    row, media = take_media(row)
    result = conn.execute(
        _insert(conn, inbound_messages)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
    )
    record_media(conn, row, media)
    return bool(result.rowcount)


def add_followup(
    conn: Connection,
    melding_id: str,
    channel: str,
    external_id: str,
    received_at: datetime,
    sender: str | None,
    text: str,
) -> int | None:
    """Store a follow-up once per (channel, external_id); None when it was stored before."""
    result = conn.execute(
        _insert(conn, followups)
        .values(
            melding_id=melding_id,
            channel=channel,
            external_id=external_id,
            received_at=received_at,
            sender=sender,
            text=text,
        )
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(followups.c.id)
    )
    found = result.scalar_one_or_none()
    return int(found) if found is not None else None


@dataclass(frozen=True)
class FollowupAdded:
    """What storing a follow-up did; the caller enqueues the jobs after the commit (and the worker's
    sweep finds both should that never happen: an unnotified status change, a waiting delivery)."""

    followup_id: int | None  # None: this message was stored before, and nothing else was done
    history_id: int | None = None  # back to the desk: In behandeling (notify the reporter)
    delivery: DeliveryRecord | None = None  # `melding.followup` for the case system


def add_followup_effects(
    conn: Connection,
    melding_id: str,
    channel: str,
    external_id: str,
    received_at: datetime,
    sender: str | None,
    text: str,
    files: list[Attachment],
    inbound: dict[str, Any] | None = None,
) -> FollowupAdded:
    """A reporter's follow-up and what it sets in motion, in one transaction, whatever the channel:
    a melding the desk was waiting on goes back to it, and a melding the case system has already
    gets the follow-up as `melding.followup` (one not yet delivered carries it inside). Its files
    join the melding's attachments before any delivery can read them, and its audit record (with
    MMS media to fetch) is written in the same transaction: a crash leaves all of it or none."""
    if inbound is not None:
        record_inbound(conn, {"received_at": utcnow(), **inbound})
    followup_id = add_followup(conn, melding_id, channel, external_id, received_at, sender, text)
    if followup_id is None:
        return FollowupAdded(None)
    add_attachments(conn, melding_id, files)
    row = conn.execute(
        select(meldingen.c.status, meldingen.c.stage).where(meldingen.c.id == melding_id)
    ).one()
    history_id = delivery = None
    if row.status == Status.WACHTEN_OP_ANTWOORD.value:
        history_id = queries.add_status(
            conn,
            melding_id,
            Status.IN_BEHANDELING,
            "reporter",
            "Reactie van de melder ontvangen",
            None,
            None,
            False,
        )
    if row.stage == Stage.DELIVERED.value:
        payload = {
            "followup": {
                "channel": channel,
                "sender": sender,
                "text": text,
                "received_at": received_at.isoformat(),
            }
        }
        delivery = queries.ensure_delivery(conn, melding_id, EVENT_FOLLOWUP, external_id, payload)
    return FollowupAdded(followup_id, history_id, delivery)


def add_attachments(conn: Connection, melding_id: str, files: list[Attachment]) -> None:
    """Files that arrive later (with a follow-up) join the melding's attachments."""
    if files:
        conn.execute(attachments.insert(), [{"melding_id": melding_id, **f.model_dump()} for f in files])


def followups_of(conn: Connection, melding_id: str) -> list[Followup]:
    rows = conn.execute(
        select(followups).where(followups.c.melding_id == melding_id).order_by(followups.c.id)
    )
    return [
        Followup(channel=r.channel, received_at=r.received_at, sender=r.sender, text=r.text) for r in rows
    ]


def melding_by_external_id(conn: Connection, channel: str, external_ids: list[str]) -> str | None:
    if not external_ids:
        return None
    return conn.execute(
        select(meldingen.c.id).where(
            meldingen.c.channel == channel, meldingen.c.external_id.in_(external_ids)
        )
    ).scalar()


__all__ = [
    "record_inbound",
    "add_followup",
    "add_followup_effects",
    "FollowupAdded",
    "add_attachments",
    "followups_of",
    "melding_by_external_id",
    "utcnow",
]
