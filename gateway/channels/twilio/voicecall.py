"""One Twilio Voice call, assembled from its callbacks (status, recording, transcription).

Pure functions, no I/O: `apply` folds a callback into the call's state, whatever order the
callbacks arrive in (every field is merged by a rule that does not depend on order: the most
advanced call status, the longest duration, the first number seen, ...); `complete` says when
nothing more is to be expected, and `draft` turns the call into the melding for the 1777 desk.
`calls` beside this module runs them under the call's row lock (the store keeps the
rows: gateway.store.voice_calls); the channel (gateway.channels.twilio.voice) parses the HTTP request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.melding import Channel, MeldingDraft, Reporter
from gateway.phonenumber import e164
from gateway.store.voice_calls import VoiceCall

__all__ = ["EVENTS", "Callback", "VoiceCall", "apply", "complete", "desk_text", "draft", "summary"]

EVENTS = ("status", "recording", "transcription")

# Twilio's CallStatus values by progress; a terminal status ends the call.
_CALL_RANK = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2, "answered": 2}
TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
MISSED = TERMINAL - {"completed"}  # nobody spoke: no recording can follow
_RECORDING_DONE = frozenset({"completed", "absent", "failed", "deleted"})
_LIMITS = {
    "CallSid": 64,
    "RecordingSid": 64,
    "TranscriptionSid": 64,
    "CallStatus": 16,
    "RecordingStatus": 16,
    "TranscriptionStatus": 16,
}
_MAX_CALLBACKS = 100  # a call sends a handful; the cap only bounds a misbehaving sender


@dataclass(frozen=True)
class Callback:
    """One signed callback as Twilio posted it to `/channels/twilio/voice/{event}`."""

    event: str  # one of EVENTS
    params: dict[str, str]
    received_at: datetime

    def too_long(self) -> tuple[str, int] | None:
        """A field longer than Twilio ever sends (its sids are 34 characters, its statuses one
        word) and than the call's row keeps: (field, limit), refused rather than cut."""
        for name, limit in _LIMITS.items():
            if len(self.params.get(name, "")) > limit:
                return name, limit
        return None

    @property
    def call_sid(self) -> str:
        return self.params.get("CallSid", "")

    def get(self, name: str) -> str | None:
        return self.params.get(name) or None

    @property
    def status(self) -> str | None:
        """CallStatus, RecordingStatus or TranscriptionStatus, by the event."""
        name = {"status": "CallStatus", "recording": "RecordingStatus"}.get(self.event, "TranscriptionStatus")
        return self.get(name)

    @property
    def dedupe_key(self) -> str:
        """Twilio retries a callback it got no 2xx for: the same key, so it changes nothing.
        A recording sends `in-progress` and `completed` under one RecordingSid: its status is part."""
        p = self.params
        if self.event == "status":
            part = f"{p.get('SequenceNumber', '')}:{p.get('CallStatus', '')}"
        elif self.event == "recording":
            part = f"{p.get('RecordingSid', '')}:{p.get('RecordingStatus', '')}"
        else:
            part = f"{p.get('TranscriptionSid', '')}:{p.get('TranscriptionStatus', '')}"
        return f"{self.call_sid}:{self.event}:{part}"

    @property
    def followup_key(self) -> str:
        """A late transcription's follow-up (and its `melding.followup`), once per TranscriptionSid."""
        return f"{self.call_sid}:transcription:{self.params.get('TranscriptionSid', '')}"


_MAX_INT = 2**31 - 1  # the store's INTEGER columns; a call of 68 years is not a call


def _int(value: str | None) -> int | None:
    """Twilio's counts are ASCII digits; anything else (negative, "1e999", Arabic-Indic digits,
    400 nines) is not a count Twilio sent, and is ignored as a missing one."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if number <= _MAX_INT else None


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _status_key(status: str | None, sequence: int) -> tuple[int, int]:
    rank = 3 if status in TERMINAL else _CALL_RANK.get(status or "", -1)
    return rank, sequence


def apply(call: VoiceCall, cb: Callback) -> VoiceCall:
    """The call with the callback folded in; the result does not depend on arrival order."""
    out = replace(call, callbacks=list(call.callbacks))
    out.first_event_at = min(call.first_event_at, cb.received_at)
    out.last_event_at = max(call.last_event_at, cb.received_at)
    if not out.from_number and (number := cb.get("From")):
        out.from_number = e164(number)[:40]  # "anonymous" for a withheld number: kept as given
    if not out.to_number and (number := cb.get("To")):
        out.to_number = e164(number)[:40]
    if (status := cb.get("CallStatus")) is not None:
        sequence = _int(cb.get("SequenceNumber")) or 0
        if _status_key(status, sequence) > _status_key(call.call_status, call.status_sequence):
            out.call_status, out.status_sequence = status, sequence
        out.duration = _max(call.duration, _int(cb.get("CallDuration")))
    # A status or transcription callback may name the recording too; only the recording
    # callback says how far the recording is.
    out.recording_sid = call.recording_sid or cb.get("RecordingSid")
    out.recording_url = call.recording_url or cb.get("RecordingUrl")
    out.recording_duration = _max(call.recording_duration, _int(cb.get("RecordingDuration")))
    rec = cb.get("RecordingStatus") if cb.event == "recording" else None
    if rec is not None and call.recording_status not in _RECORDING_DONE:
        out.recording_status = rec
    if cb.event == "transcription":
        _apply_transcription(out, call, cb)
    if len(out.callbacks) < _MAX_CALLBACKS:
        out.callbacks.append(
            {"event": cb.event, "received_at": cb.received_at.isoformat(), "params": cb.params}
        )
    return out


def _apply_transcription(out: VoiceCall, call: VoiceCall, cb: Callback) -> None:
    status = cb.get("TranscriptionStatus") or ("completed" if cb.get("TranscriptionText") else "failed")
    if call.transcription_status == "completed":
        return  # a text once received stays; a failed attempt does not erase it
    out.transcription_sid = cb.get("TranscriptionSid")
    out.transcription_status = status
    out.transcription_text = (cb.get("TranscriptionText") or "").strip() or None


def complete(call: VoiceCall, transcribe: bool) -> bool:
    """Nothing more is to be expected: the call ended, and its recording and transcription
    (when `transcribe`: the voice app asks Twilio for one) arrived or will not come.
    A `completed` call we know no recording of may still send one: it waits for the settle time."""
    if call.call_status not in TERMINAL:
        return False
    if call.transcription_status in ("completed", "failed"):
        return True
    if call.recording_status in ("absent", "failed", "deleted"):
        return True
    if call.recording_status == "completed":
        return not transcribe
    if call.recording_status is not None or call.recording_url:  # a recording is on its way
        return False
    return call.call_status in MISSED


def desk_text(call: VoiceCall) -> str:
    """What the desk reads: the transcription, else who to call back and where the recording is."""
    recording = f"Opname: {call.recording_url}" if call.recording_url else None
    if call.transcription_text:
        return "\n\n".join(p for p in (call.transcription_text, recording) if p)
    if call.call_status in MISSED:
        return f"Gemiste oproep ({call.call_status}) van {call.caller}. Bel de melder terug."
    if call.recording_url:
        why = " (transcriptie mislukt)" if call.transcription_status == "failed" else ""
        return (
            f"Oproep van {call.caller} zonder transcriptie{why}; opname: {call.recording_url}. "
            "Beluister de opname of bel de melder terug."
        )
    ended = "" if call.call_status in TERMINAL else f", laatste status: {call.call_status or 'onbekend'}"
    duration = f", {call.duration} s" if call.duration is not None else ""
    return f"Oproep van {call.caller}{duration}{ended} zonder opname. Bel de melder terug."


def summary(call: VoiceCall) -> dict[str, Any]:
    """The call as kept in the melding's raw payload (audit), callbacks included."""
    return {
        "source": "twilio-voice",
        "call_sid": call.call_sid,
        "from": call.from_number,
        "to": call.to_number,
        "call_status": call.call_status,
        "duration": call.duration,
        "recording_sid": call.recording_sid,
        "recording_url": call.recording_url,
        "recording_status": call.recording_status,
        "recording_duration": call.recording_duration,
        "transcription_sid": call.transcription_sid,
        "transcription_status": call.transcription_status,
        "callbacks": call.callbacks,
    }


def draft(call: VoiceCall, max_text_chars: int) -> MeldingDraft:
    """The call's one melding: keyed by the CallSid, so a call never makes a second one."""
    return MeldingDraft(
        channel=Channel.PHONE,
        external_id=call.call_sid,
        received_at=call.first_event_at,
        reporter=Reporter(phone=call.from_number),
        text=desk_text(call)[:max_text_chars],
        language="nl" if not call.transcription_text else None,
        raw=json.dumps(summary(call), ensure_ascii=False),
    )
