"""Store operations for what channels receive besides new meldingen: the inbound
audit trail (with its dedupe key) and follow-ups on existing meldingen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.melding import Attachment, Followup
from gateway.store.media import record_media, take_media
from gateway.store.queries import _insert, utcnow
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
    "add_attachments",
    "followups_of",
    "melding_by_external_id",
    "utcnow",
]
