"""The SMS channel's records: opt-outs (STOP / START), the conversation a follow-up SMS joins, and
the messages Twilio accepted with what became of them.

`send()` (workers/sms.py) records each message when Twilio answers with its sid; Twilio's
StatusCallback (gateway/channels/twilio/sms_status.py) moves its status forward, never back;
a part that came back undelivered with a transient error is resent by the worker
(workers/sms_resend.py) as a new message linked to the failed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from gateway.melding import Channel, Status
from gateway.store import notifications
from gateway.store.schema import meldingen, sms_messages, sms_optouts
from gateway.store.sql import insert, row_as, select_rows, utcnow

# Twilio's error for a recipient who unsubscribed (replied STOP to our number), whether a send is
# refused with it or a delivery receipt reports it; the opt-out is then recorded with this keyword.
OPTED_OUT = 21610
OPTED_OUT_KEYWORD = "TWILIO-21610"


def set_optout(
    conn: Connection, number: str, *, opted_out: bool, keyword: str, message_sid: str | None
) -> None:
    """The number's latest choice wins (one row per number)."""
    values = {"opted_out": opted_out, "keyword": keyword, "message_sid": message_sid, "updated_at": utcnow()}
    conn.execute(
        insert(conn, sms_optouts)
        .values(number=number, **values)
        .on_conflict_do_update(index_elements=["number"], set_=values)
    )


def opted_out(conn: Connection, number: str) -> bool:
    """True when the (E.164) number sent STOP and no START since: send it no SMS."""
    found = conn.execute(select(sms_optouts.c.opted_out).where(sms_optouts.c.number == number)).scalar()
    return bool(found)


# Built once: the webhook's fast path runs this for every SMS, and building the statement
# costs more than running it.
_CONVERSATION = (
    select(meldingen.c.id)
    .where(
        meldingen.c.reporter_phone == bindparam("number"),
        # an SMS melding that chose nothing else, or any melding whose reporter chose SMS (the web
        # form): both are texted, so both take a reply SMS
        or_(
            and_(meldingen.c.channel == Channel.SMS.value, meldingen.c.reporter_feedback.is_(None)),
            meldingen.c.reporter_feedback == "sms",
        ),
        or_(
            meldingen.c.received_at >= bindparam("since"),
            meldingen.c.status == Status.WACHTEN_OP_ANTWOORD.value,
        ),
    )
    .order_by(meldingen.c.received_at.desc())
    .limit(1)
)


def conversation(conn: Connection, number: str, since: datetime) -> str | None:
    """The number's latest melding texted by SMS (came by SMS, or its reporter chose SMS) received
    since `since`, or still waiting for its answer."""
    rows = select_rows(conn, _CONVERSATION, {"number": number, "since": since})
    return rows[0][0] if rows else None


# -- messages sent and their delivery receipts ----------------------------------------------------

# How far along each status is: a callback only moves a message forward (Twilio does not
# promise the order of its callbacks). The final ones share a rank: the first to arrive wins.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,  # after delivered, on channels with read receipts
}
UNDELIVERED = frozenset({"undelivered", "failed"})


@dataclass(frozen=True)
class SmsMessage:
    sid: str
    melding_id: str
    history_id: int
    channel: str
    part: int
    parts: int
    recipient: str
    body: str
    status: str
    error_code: int | None
    resends: int
    resend_of: str | None
    resent_as: str | None
    resend_at: datetime | None


def record_sent(conn: Connection, row: dict[str, Any]) -> None:
    """Once per sid (a worker retried after a crash records nothing new)."""
    now = utcnow()
    values = {"status": "queued", "resends": 0, "created_at": now, "updated_at": now, **row}
    conn.execute(insert(conn, sms_messages).values(**values).on_conflict_do_nothing(index_elements=["sid"]))


def get_message(conn: Connection, sid: str) -> SmsMessage | None:
    row = conn.execute(select(sms_messages).where(sms_messages.c.sid == sid)).first()
    return row_as(SmsMessage, row) if row is not None else None


def sent_parts(conn: Connection, history_id: int, channel: str) -> dict[int, str]:
    """The parts of one decision Twilio accepted before (part -> first sid): never sent twice."""
    rows = conn.execute(
        select(sms_messages.c.part, sms_messages.c.sid).where(
            sms_messages.c.history_id == history_id,
            sms_messages.c.channel == channel,
            sms_messages.c.resend_of.is_(None),
        )
    )
    return {r.part: r.sid for r in rows}


def update_status(
    conn: Connection,
    sid: str,
    status: str,
    *,
    error_code: int | None,
    resend_at: datetime | None = None,
    failure: str | None = None,
) -> bool:
    """Move the message to `status` if that is further along; False when it is not (or unknown).
    Undelivered, it either waits for a resend (`resend_at`) or fails its decision (`failure`),
    in the same transaction, so a callback is acted upon once."""
    query = select(sms_messages).where(sms_messages.c.sid == sid).with_for_update()
    row = conn.execute(query).first()
    if row is None or STATUS_RANK.get(status, -1) <= STATUS_RANK.get(row.status, -1):
        return False
    undelivered = status in UNDELIVERED
    conn.execute(
        update(sms_messages)
        .where(sms_messages.c.sid == sid)
        .values(
            status=status,
            error_code=error_code,
            resend_at=resend_at if undelivered else None,
            updated_at=utcnow(),
        )
    )
    if undelivered and failure is not None:
        fail_decision(conn, row_as(SmsMessage, row), failure)
    return True


def fail_decision(conn: Connection, message: SmsMessage, detail: str) -> None:
    notifications.record(
        conn,
        message.melding_id,
        message.history_id,
        message.channel,
        recipient=message.recipient,
        state="failed",
        detail=detail,
    )


def give_up(conn: Connection, sid: str, detail: str) -> None:
    """No resend after all (opted out meanwhile, refused by Twilio): the decision failed."""
    conn.execute(
        update(sms_messages).where(sms_messages.c.sid == sid).values(resend_at=None, updated_at=utcnow())
    )
    message = get_message(conn, sid)
    if message is not None:
        fail_decision(conn, message, detail)


def record_resend(conn: Connection, failed_sid: str, new_sid: str) -> bool:
    """The resend of `failed_sid` went out as `new_sid`: recorded with its link, once."""
    failed = get_message(conn, failed_sid)
    if failed is None or failed.resent_as is not None:
        return False
    conn.execute(
        update(sms_messages)
        .where(sms_messages.c.sid == failed_sid)
        .values(resent_as=new_sid, resend_at=None, updated_at=utcnow())
    )
    record_sent(
        conn,
        {
            "sid": new_sid,
            "melding_id": failed.melding_id,
            "history_id": failed.history_id,
            "channel": failed.channel,
            "part": failed.part,
            "parts": failed.parts,
            "recipient": failed.recipient,
            "body": failed.body,
            "resends": failed.resends + 1,
            "resend_of": failed_sid,
        },
    )
    return True


def resends_due(conn: Connection, before: datetime, limit: int = 1000) -> list[str]:
    """Messages whose resend was due before `before` and has not gone out (the sweep: its job was lost)."""
    rows = conn.execute(
        select(sms_messages.c.sid)
        .where(sms_messages.c.resend_at < before, sms_messages.c.resent_as.is_(None))
        .order_by(sms_messages.c.resend_at)
        .limit(limit)
    )
    return [r.sid for r in rows]


def messages_of(conn: Connection, melding_id: str) -> list[SmsMessage]:
    rows = conn.execute(
        select(sms_messages)
        .where(sms_messages.c.melding_id == melding_id)
        .order_by(sms_messages.c.created_at)
    )
    return [row_as(SmsMessage, r) for r in rows]
