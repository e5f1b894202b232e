"""Twilio Voice calls as the store keeps them: one `voice_calls` row per CallSid, into which the
channel folds each callback (gateway.channels.twilio.voicecall) under the row's lock, in the
transaction that also makes the call's melding (gateway.channels.twilio.calls).

Race-free: the channel locks the call's row first (PostgreSQL: the insert-if-absent then
SELECT ... FOR UPDATE; SQLite: the write transaction is exclusive already), so two callbacks of
one call at the same instant are applied one after the other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from gateway.store.schema import voice_calls
from gateway.store.sql import insert, row_as


@dataclass
class VoiceCall:
    """A `voice_calls` row."""

    call_sid: str
    first_event_at: datetime
    last_event_at: datetime
    from_number: str | None = None
    to_number: str | None = None
    call_status: str | None = None
    status_sequence: int = -1
    duration: int | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    recording_status: str | None = None
    recording_duration: int | None = None
    transcription_sid: str | None = None
    transcription_text: str | None = None
    transcription_status: str | None = None
    melding_id: str | None = None
    assembled_by: str | None = None  # "callbacks" (complete) or "settle" (quiet for voice_settle_seconds)
    assembled_at: datetime | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def caller(self) -> str:
        return self.from_number or "onbekend nummer"


def get(conn: Connection, call_sid: str, *, lock: bool = False) -> VoiceCall | None:
    """The call; `lock`: PostgreSQL SELECT ... FOR UPDATE (SQLite: the write lock holds already)."""
    query = select(voice_calls).where(voice_calls.c.call_sid == call_sid)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return row_as(VoiceCall, row) if row is not None else None


def lock_or_create(conn: Connection, call_sid: str, at: datetime) -> VoiceCall:
    """The call's row, locked; created (first and last event `at`) when this is its first callback."""
    new = VoiceCall(call_sid, first_event_at=at, last_event_at=at)
    conn.execute(
        insert(conn, voice_calls).values(**asdict(new)).on_conflict_do_nothing(index_elements=["call_sid"])
    )
    found = get(conn, call_sid, lock=True)
    assert found is not None
    return found


def save(conn: Connection, call: VoiceCall) -> None:
    values = asdict(call)
    del values["call_sid"]
    conn.execute(update(voice_calls).where(voice_calls.c.call_sid == call.call_sid).values(**values))


def unsettled(conn: Connection, quiet_before: datetime, limit: int = 1000) -> list[str]:
    """Calls without a melding that went quiet: their settle job may have been lost."""
    return list(
        conn.execute(
            select(voice_calls.c.call_sid)
            .where(voice_calls.c.melding_id.is_(None), voice_calls.c.last_event_at <= quiet_before)
            .order_by(voice_calls.c.last_event_at)
            .limit(limit)
        ).scalars()
    )
