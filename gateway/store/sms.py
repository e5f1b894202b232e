"""Store operations of the SMS channel: opt-outs, the conversation a follow-up SMS joins,
and what an already received message became (Twilio retries a webhook it got no answer to)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select

from gateway.melding import Channel, Status
from gateway.store.queries import _insert
from gateway.store.schema import inbound_messages, meldingen, sms_optouts

# Twilio's error for a recipient who unsubscribed (replied STOP to our number), whether a send is
# refused with it or a delivery receipt reports it; the opt-out is then recorded with this keyword.
OPTED_OUT = 21610
OPTED_OUT_KEYWORD = "TWILIO-21610"


def set_optout(
    conn: Connection, number: str, opted_out: bool, keyword: str, message_sid: str | None, at: datetime
) -> None:
    """The number's latest choice wins (one row per number)."""
    values = {"opted_out": opted_out, "keyword": keyword, "message_sid": message_sid, "updated_at": at}
    conn.execute(
        _insert(conn, sms_optouts)
        .values(number=number, **values)
        .on_conflict_do_update(index_elements=["number"], set_=values)
    )


def opted_out(conn: Connection, number: str) -> bool:
    found = conn.execute(select(sms_optouts.c.opted_out).where(sms_optouts.c.number == number)).scalar()
    return bool(found)


# Built once: the webhook's fast path runs these for every SMS, and building the statement
# costs more than running it.
_CONVERSATION = (
    select(meldingen.c.id)
    .where(
        meldingen.c.reporter_phone == bindparam("number"),
        meldingen.c.channel == Channel.SMS.value,
        or_(
            meldingen.c.received_at >= bindparam("since"),
            meldingen.c.status == Status.WACHTEN_OP_ANTWOORD.value,
        ),
    )
    .order_by(meldingen.c.received_at.desc())
    .limit(1)
)
_OUTCOME = select(inbound_messages.c.kind, inbound_messages.c.melding_id).where(
    inbound_messages.c.channel == bindparam("channel"),
    inbound_messages.c.dedupe_key == bindparam("dedupe_key"),
)


def conversation(conn: Connection, number: str, since: datetime) -> str | None:
    """The number's latest SMS melding received since `since`, or still waiting for its answer."""
    return conn.execute(_CONVERSATION, {"number": number, "since": since}).scalar()


def inbound_outcome(conn: Connection, channel: str, dedupe_key: str) -> tuple[str, str | None] | None:
    """(kind, melding id) of a message recorded before under this key, else None."""
    row = conn.execute(_OUTCOME, {"channel": channel, "dedupe_key": dedupe_key}).first()
    return (row.kind, row.melding_id) if row is not None else None


__all__ = ["set_optout", "opted_out", "conversation", "inbound_outcome"]
