"""Store operations of the Twilio Voice channel: a call's callbacks folded into its `voice_calls`
row, and its one melding made in the same transaction.

Race-free: every operation locks the call's row first (PostgreSQL: the insert-if-absent then
SELECT ... FOR UPDATE; SQLite: the write transaction is exclusive already), so two callbacks of
one call at the same instant are applied one after the other, and only the first one to find the
call complete makes the melding and sets `melding_id`. A Twilio retry is stopped earlier by the
unique (channel, dedupe_key) of its audit row in `inbound_messages`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from gateway.melding import Channel, MeldingDraft
from gateway.phonenumber import e164
from gateway.store import inbound, queries
from gateway.store.queries import IntakeItem, StoredIntake
from gateway.store.schema import inbound_messages, voice_calls
from gateway.voicecall import Callback, VoiceCall, apply, complete, draft

CHANNEL = Channel.PHONE.value
SOURCE = "twilio-voice"


@dataclass(frozen=True)
class Assembly:
    """How a call becomes a melding (from the settings)."""

    transcribe: bool  # the voice app asks Twilio for transcriptions: a recording waits for one
    max_text_chars: int
    tz: ZoneInfo
    prefix: str


@dataclass(frozen=True)
class VoiceOutcome:
    """kind: replayed (a retry: nothing changed) | call_event (kept, no melding yet) | melding (this
    made it) | followup (a late transcription added to it) | late (kept only) | waiting (settle:
    not quiet long enough) | done (settle: already a melding) | missing."""

    kind: str
    call_sid: str
    melding_id: str | None = None
    stored: StoredIntake | None = None  # the melding made now, from this draft
    draft: MeldingDraft | None = None
    followup: inbound.FollowupAdded | None = None  # a late transcription, stored now
    last_event_at: datetime | None = None


def get_call(conn: Connection, call_sid: str, *, lock: bool = False) -> VoiceCall | None:
    query = select(voice_calls).where(voice_calls.c.call_sid == call_sid)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return queries.row_as(VoiceCall, row) if row is not None else None


def _locked(conn: Connection, call_sid: str) -> VoiceCall | None:
    return get_call(conn, call_sid, lock=True)  # PostgreSQL: FOR UPDATE; SQLite: the write lock


def _lock_or_create(conn: Connection, cb: Callback) -> VoiceCall:
    new = VoiceCall(cb.call_sid, first_event_at=cb.received_at, last_event_at=cb.received_at)
    conn.execute(
        queries._insert(conn, voice_calls)
        .values(**asdict(new))
        .on_conflict_do_nothing(index_elements=["call_sid"])
    )
    found = _locked(conn, cb.call_sid)
    assert found is not None
    return found


def _save(conn: Connection, call: VoiceCall) -> None:
    values = asdict(call)
    del values["call_sid"]
    conn.execute(update(voice_calls).where(voice_calls.c.call_sid == call.call_sid).values(**values))


def _assemble(conn: Connection, call: VoiceCall, by: str, how: Assembly) -> VoiceOutcome:
    """The call's melding, in the caller's transaction. A melding already stored under the CallSid
    (a call record of the same call) is linked instead of duplicated."""
    made = draft(call, how.max_text_chars)
    (stored,) = queries.intake_batch(conn, [IntakeItem(made, [])], how.tz, how.prefix)
    call.melding_id, call.assembled_by, call.assembled_at = stored.id, by, queries.utcnow()
    return VoiceOutcome("melding", call.call_sid, stored.id, stored, made, last_event_at=call.last_event_at)


def record_callback(conn: Connection, cb: Callback, how: Assembly) -> VoiceOutcome:
    audit = {
        "channel": CHANNEL,
        "dedupe_key": cb.dedupe_key,
        "received_at": cb.received_at,
        "source": SOURCE,
        "sender": e164(cb.get("From")),
        "kind": "call_event",
        "reason": f"{cb.event}: {cb.status}",
        "details": {"event": cb.event, "call_sid": cb.call_sid},
    }
    if not inbound.record_inbound(conn, audit):
        return VoiceOutcome("replayed", cb.call_sid)
    before = _lock_or_create(conn, cb)
    call = apply(before, cb)
    outcome = VoiceOutcome("call_event", cb.call_sid, last_event_at=call.last_event_at)
    if before.melding_id is not None:
        outcome = _late(conn, call, cb, before.melding_id)
    elif complete(call, how.transcribe):
        outcome = _assemble(conn, call, "callbacks", how)
    _save(conn, call)
    conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.channel == CHANNEL, inbound_messages.c.dedupe_key == cb.dedupe_key)
        .values(kind=outcome.kind, melding_id=outcome.melding_id)
    )
    return outcome


def _late(conn: Connection, call: VoiceCall, cb: Callback, melding_id: str) -> VoiceOutcome:
    """After the melding: a transcription is the caller's words the desk has not read yet."""
    text = (cb.get("TranscriptionText") or "").strip()
    if cb.event != "transcription" or not text:
        return VoiceOutcome("late", cb.call_sid, melding_id, last_event_at=call.last_event_at)
    added = inbound.add_followup_effects(
        conn, melding_id, CHANNEL, cb.followup_key, cb.received_at, call.from_number, text, []
    )
    return VoiceOutcome("followup", cb.call_sid, melding_id, followup=added)


def settle(conn: Connection, call_sid: str, quiet_before: datetime, how: Assembly) -> VoiceOutcome:
    """Make the melding of a call that went quiet (no callback since `quiet_before`): its hang-up,
    recording or transcription is not coming."""
    call = _locked(conn, call_sid)
    if call is None:
        return VoiceOutcome("missing", call_sid)
    if call.melding_id is not None:
        return VoiceOutcome("done", call_sid, call.melding_id)
    if call.last_event_at > quiet_before:
        return VoiceOutcome("waiting", call_sid, last_event_at=call.last_event_at)
    outcome = _assemble(conn, call, "settle", how)
    _save(conn, call)
    return outcome


def unsettled(conn: Connection, quiet_before: datetime, limit: int) -> list[str]:
    """Calls without a melding that went quiet: their settle job may have been lost."""
    return list(
        conn.execute(
            select(voice_calls.c.call_sid)
            .where(voice_calls.c.melding_id.is_(None), voice_calls.c.last_event_at <= quiet_before)
            .order_by(voice_calls.c.last_event_at)
            .limit(limit)
        ).scalars()
    )


__all__ = ["Assembly", "VoiceOutcome", "record_callback", "settle", "unsettled", "get_call"]
