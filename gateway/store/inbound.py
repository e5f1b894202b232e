"""What channels receive, besides new meldingen: the inbound audit trail (one row per message
and dedupe key, with the MMS media it carried) and reporters' follow-ups on their meldingen."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.engine import Row

from gateway.melding import EVENT_FOLLOWUP, Attachment, Followup, Stage, Status, StatusUpdate
from gateway.store.deliveries import DeliveryRecord, ensure
from gateway.store.history import add_status
from gateway.store.media import record_media, take_media
from gateway.store.schema import attachments, followups, inbound_messages, meldingen
from gateway.store.sql import dialect_insert, insert, select_rows, utcnow


def record_inbound(conn: Connection, row: dict[str, Any]) -> bool:
    """Keep one row per (channel, dedupe_key); False when that message was recorded before.
    MMS media the record carries are recorded with it (gateway.store.media). `received_at`
    defaults to now."""
    row, media = take_media({"received_at": utcnow(), **row})
    result = conn.execute(
        insert(conn, inbound_messages)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
    )
    record_media(conn, row, media)
    return bool(result.rowcount)


def record_many(conn: Connection, records: list[dict[str, Any]]) -> None:
    """The audit records of a batch of received messages, in their meldingen's own transaction
    (intake), with the MMS media to fetch that a record may carry."""
    split = [take_media(record) for record in records]
    if split:
        conn.execute(_record_once(conn.dialect.name), [row for row, _ in split])
    for row, media in split:
        record_media(conn, row, media)


@functools.cache
def _record_once(dialect: str) -> Any:
    """Built once: intake writes it in every batch."""
    return dialect_insert(inbound_messages, dialect).on_conflict_do_nothing(
        index_elements=["channel", "dedupe_key"]
    )


# Built once: the SMS webhook's fast path runs this for every message, and building the
# statement costs more than running it.
_OUTCOME = select(inbound_messages.c.kind, inbound_messages.c.melding_id).where(
    inbound_messages.c.channel == bindparam("channel"),
    inbound_messages.c.dedupe_key == bindparam("dedupe_key"),
)


def inbound_outcome(conn: Connection, channel: str, dedupe_key: str) -> tuple[str, str | None] | None:
    """(kind, melding id) of a message recorded before under this key, else None (a channel's
    retry of a webhook it got no answer to is answered as the first time)."""
    rows = select_rows(conn, _OUTCOME, {"channel": channel, "dedupe_key": dedupe_key})
    return (rows[0][0], rows[0][1]) if rows else None


def set_outcome(
    conn: Connection, channel: str, dedupe_key: str, *, kind: str, melding_id: str | None
) -> None:
    """What a recorded message turned out to be, once its transaction knows (a voice callback)."""
    conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.channel == channel, inbound_messages.c.dedupe_key == dedupe_key)
        .values(kind=kind, melding_id=melding_id)
    )


def _insert_followup(
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
        insert(conn, followups)
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


def add_followup(
    conn: Connection,
    melding_id: str,
    *,
    channel: str,
    external_id: str,
    received_at: datetime,
    sender: str | None,
    text: str,
    files: Sequence[Attachment] = (),
    record: dict[str, Any] | None = None,
) -> FollowupAdded:
    """A reporter's follow-up and what it sets in motion, once per (channel, external_id), in one
    transaction, whatever the channel: a melding the desk was waiting on goes back to it, and a
    melding the case system has already gets the follow-up as `melding.followup` (one not yet
    delivered carries it inside). Its files join the melding's attachments before any delivery can
    read them, and the message's audit `record` (with MMS media to fetch) is written in the same
    transaction: a crash leaves all of it or none."""
    if record is not None:
        record_inbound(conn, record)
    followup_id = _insert_followup(conn, melding_id, channel, external_id, received_at, sender, text)
    if followup_id is None:
        return FollowupAdded(None)
    add_attachments(conn, melding_id, list(files))
    row = conn.execute(
        select(meldingen.c.status, meldingen.c.stage, meldingen.c.duplicate_of, meldingen.c.reference).where(
            meldingen.c.id == melding_id
        )
    ).one()
    history_id = delivery = None
    if row.status == Status.WACHTEN_OP_ANTWOORD.value:
        back = StatusUpdate(Status.IN_BEHANDELING, source="reporter", note="Reactie van de melder ontvangen")
        history_id = add_status(conn, melding_id, back)
    if row.stage == Stage.DELIVERED.value:
        payload: dict[str, Any] = {
            "followup": {
                "channel": channel,
                "sender": sender,
                "text": text,
                "received_at": received_at.isoformat(),
            }
        }
        # A duplicate has no case of its own: its reporter's reply belongs on its master's case
        # (the TOPdesk incident the question came from), saying which reporter wrote it.
        case_melding = row.duplicate_of or melding_id
        if row.duplicate_of:
            payload["followup"]["reporter_reference"] = row.reference
            # its files are the duplicate's, which the master's case does not see: they travel along
            stored = [f.model_dump(mode="json") for f in files if f.state == "stored"]
            if stored:
                payload["followup"]["attachments"] = stored
        delivery = ensure(conn, case_melding, EVENT_FOLLOWUP, key=external_id, payload=payload)
    return FollowupAdded(followup_id, history_id, delivery)


def add_attachments(conn: Connection, melding_id: str, files: list[Attachment]) -> None:
    """Files that arrive later (with a follow-up) join the melding's attachments."""
    if files:
        conn.execute(attachments.insert(), [{"melding_id": melding_id, **f.model_dump()} for f in files])


def followups_of(conn: Connection, melding_id: str) -> list[Followup]:
    return [_followup(r) for r in conn.execute(_followups_of(), {"melding_id": melding_id})]


def followups_of_many(conn: Connection, melding_ids: list[str]) -> dict[str, list[Followup]]:
    """`followups_of` for a page of meldingen in one query."""
    found: dict[str, list[Followup]] = {melding_id: [] for melding_id in melding_ids}
    for r in conn.execute(_followups_of_many(), {"melding_ids": list(melding_ids)}):
        found[r.melding_id].append(_followup(r))
    return found


def _followup(r: Row[Any]) -> Followup:
    return Followup(channel=r.channel, received_at=r.received_at, sender=r.sender, text=r.text)


@functools.cache
def _followups_of_many() -> Any:
    ids = bindparam("melding_ids", expanding=True)
    return select(followups).where(followups.c.melding_id.in_(ids)).order_by(followups.c.id)


@functools.cache
def _followups_of() -> Any:
    """Built once: every read of a whole melding runs it (see meldingen.get)."""
    return select(followups).where(followups.c.melding_id == bindparam("melding_id")).order_by(followups.c.id)


def melding_by_external_id(conn: Connection, channel: str, external_ids: list[str]) -> str | None:
    """The melding a channel stored under one of these ids (a mail reply's References)."""
    if not external_ids:
        return None
    return conn.execute(
        select(meldingen.c.id).where(
            meldingen.c.channel == channel, meldingen.c.external_id.in_(external_ids)
        )
    ).scalar()
