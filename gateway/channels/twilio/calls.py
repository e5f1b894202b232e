"""A Twilio Voice call's transactions: a callback folded into its call, and the call's one melding
made in the same transaction once the call is complete (or, by the worker's settle job, once it
went quiet).

Race-free: every operation locks the call's row first (gateway.store.voice_calls), so two
callbacks of one call at the same instant are applied one after the other, and only the first one
to find the call complete makes the melding and sets `melding_id`. A Twilio retry is stopped
earlier by the unique (channel, dedupe_key) of its audit row in `inbound_messages`.

Each function runs as one store write: `await store.write(record_callback, callback, how)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from gateway.channels.twilio.voicecall import Callback, VoiceCall, apply, complete, draft
from gateway.config import Settings
from gateway.melding import Channel, MeldingDraft
from gateway.phonenumber import e164
from gateway.store import inbound, voice_calls
from gateway.store.meldingen import IntakeItem, StoredIntake, intake_batch
from gateway.store.sql import utcnow

CHANNEL = Channel.PHONE.value
SOURCE = "twilio-voice"


@dataclass(frozen=True)
class Assembly:
    """How a call becomes a melding (from the settings)."""

    transcribe: bool  # the voice app asks Twilio for transcriptions: a recording waits for one
    max_text_chars: int
    tz: ZoneInfo  # the reference's year, as intake numbers it
    prefix: str

    @classmethod
    def from_settings(cls, settings: Settings, *, transcribe: bool) -> Assembly:
        return cls(
            transcribe, settings.max_text_chars, ZoneInfo(settings.timezone), settings.reference_prefix
        )


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


def _assemble(conn: Connection, call: VoiceCall, by: str, how: Assembly) -> VoiceOutcome:
    """The call's melding, in the caller's transaction. A melding already stored under the CallSid
    (a call record of the same call) is linked instead of duplicated."""
    made = draft(call, how.max_text_chars)
    (stored,) = intake_batch(conn, [IntakeItem(made, [])], how.tz, how.prefix)
    call.melding_id, call.assembled_by, call.assembled_at = stored.id, by, utcnow()
    return VoiceOutcome("melding", call.call_sid, stored.id, stored, made, last_event_at=call.last_event_at)


def record_callback(conn: Connection, cb: Callback, how: Assembly) -> VoiceOutcome:
    """Fold a callback into its call; make the call's melding once it is complete (one transaction)."""
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
    before = voice_calls.lock_or_create(conn, cb.call_sid, cb.received_at)
    call = apply(before, cb)
    outcome = VoiceOutcome("call_event", cb.call_sid, last_event_at=call.last_event_at)
    if before.melding_id is not None:
        outcome = _late(conn, call, cb, before.melding_id)
    elif complete(call, how.transcribe):
        outcome = _assemble(conn, call, "callbacks", how)
    voice_calls.save(conn, call)
    inbound.set_outcome(conn, CHANNEL, cb.dedupe_key, kind=outcome.kind, melding_id=outcome.melding_id)
    return outcome


def _late(conn: Connection, call: VoiceCall, cb: Callback, melding_id: str) -> VoiceOutcome:
    """After the melding: a transcription is the caller's words the desk has not read yet."""
    text = (cb.get("TranscriptionText") or "").strip()
    if cb.event != "transcription" or not text:
        return VoiceOutcome("late", cb.call_sid, melding_id, last_event_at=call.last_event_at)
    added = inbound.add_followup(
        conn,
        melding_id,
        channel=CHANNEL,
        external_id=cb.followup_key,
        received_at=cb.received_at,
        sender=call.from_number,
        text=text,
    )
    return VoiceOutcome("followup", cb.call_sid, melding_id, followup=added)


def settle(conn: Connection, call_sid: str, quiet_before: datetime, how: Assembly) -> VoiceOutcome:
    """Make the melding of a call that went quiet (no callback since `quiet_before`): its hang-up,
    recording or transcription is not coming."""
    call = voice_calls.get(conn, call_sid, lock=True)  # PostgreSQL: FOR UPDATE; SQLite: the write lock
    if call is None:
        return VoiceOutcome("missing", call_sid)
    if call.melding_id is not None:
        return VoiceOutcome("done", call_sid, call.melding_id)
    if call.last_event_at > quiet_before:
        return VoiceOutcome("waiting", call_sid, last_event_at=call.last_event_at)
    outcome = _assemble(conn, call, "settle", how)
    voice_calls.save(conn, call)
    return outcome
