"""Store operations for MMS media: recorded with the message that carried them (in the same
transaction as its melding or follow-up), fetched later by the worker (workers/media.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from gateway.melding import Attachment, Stage
from gateway.store.schema import attachments, meldingen, sms_media
from gateway.store.sql import insert, row_as, utcnow

PENDING, STORED, FAILED = "pending", "stored", "failed"
MEDIA_KEY = "media"  # key of an inbound record holding [{"position", "url", "content_type"}]


@dataclass(frozen=True)
class MediaRecord:
    id: int
    melding_id: str
    message_sid: str
    position: int
    url: str
    content_type: str | None
    state: str
    attempts: int
    error: str | None
    sha256: str | None


def add_media(conn: Connection, melding_id: str, message_sid: str, items: list[dict[str, Any]]) -> None:
    """Once per (message, position): a retried webhook adds nothing."""
    if not items:
        return
    now = utcnow()
    rows = [
        {
            "melding_id": melding_id,
            "message_sid": message_sid,
            "position": int(item["position"]),
            "url": item["url"],
            "content_type": item.get("content_type"),
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for item in items
    ]
    conn.execute(
        insert(conn, sms_media).on_conflict_do_nothing(index_elements=["message_sid", "position"]), rows
    )


def take_media(record: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An inbound audit record without its media list (not a column), and that list."""
    row = dict(record)
    return row, list(row.pop(MEDIA_KEY, None) or [])


def record_media(conn: Connection, row: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """The media of a recorded inbound message; one that made no melding (an opt-out) has
    nothing to attach them to."""
    if items and row.get("melding_id"):
        add_media(conn, row["melding_id"], row["dedupe_key"], items)


def media_of(conn: Connection, melding_id: str, state: str | None = None) -> list[MediaRecord]:
    query = select(sms_media).where(sms_media.c.melding_id == melding_id)
    if state is not None:
        query = query.where(sms_media.c.state == state)
    rows = conn.execute(query.order_by(sms_media.c.id))
    return [row_as(MediaRecord, r) for r in rows]


def media_stored(conn: Connection, media_id: int, attachment: Attachment) -> bool:
    """Mark stored and attach to the melding, once: two jobs fetching the same media at once
    (the process and a follow-up's delivery) add one attachment."""
    done = conn.execute(
        update(sms_media)
        .where(sms_media.c.id == media_id, sms_media.c.state == PENDING)
        .values(
            state=STORED,
            sha256=attachment.sha256,
            error=None,
            attempts=sms_media.c.attempts + 1,
            updated_at=utcnow(),
        )
    )
    if done.rowcount != 1:
        return False
    melding_id = conn.execute(select(sms_media.c.melding_id).where(sms_media.c.id == media_id)).scalar_one()
    conn.execute(attachments.insert().values(melding_id=melding_id, **attachment.model_dump()))
    return True


def media_failed(conn: Connection, media_id: int, *, error: str, final: bool) -> int:
    """Count a failed attempt; `final`: failed for good. Returns the attempts made."""
    values: dict[str, Any] = {
        "attempts": sms_media.c.attempts + 1,
        "error": error[:2000],
        "updated_at": utcnow(),
    }
    if final:
        values["state"] = FAILED
    conn.execute(
        update(sms_media).where(sms_media.c.id == media_id, sms_media.c.state == PENDING).values(**values)
    )
    return int(conn.execute(select(sms_media.c.attempts).where(sms_media.c.id == media_id)).scalar_one())


def media_waiting(conn: Connection, before: datetime, limit: int = 1000) -> list[str]:
    """Meldingen past intake with media still pending since before `before` (the sweep): their
    fetch job was lost. Meldingen still `received` are the sweep's anyway (process fetches)."""
    rows = conn.execute(
        select(sms_media.c.melding_id)
        .join(meldingen, meldingen.c.id == sms_media.c.melding_id)
        .where(
            sms_media.c.state == PENDING,
            sms_media.c.updated_at < before,
            meldingen.c.stage != Stage.RECEIVED.value,
        )
        .group_by(sms_media.c.melding_id)
        .limit(limit)
    )
    return [r.melding_id for r in rows]
