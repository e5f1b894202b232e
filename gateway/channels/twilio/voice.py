"""Twilio Voice callbacks: `POST /channels/twilio/voice/{event}`, event = status | recording |
transcription (the URLs to give Twilio as statusCallback, recordingStatusCallback and
transcribeCallback).

Signed like the SMS webhook (`X-Twilio-Signature` over GATEWAY_PUBLIC_URL + path and query; 503
without GATEWAY_TWILIO_AUTH_TOKEN, 403 for a missing or forged signature, nothing stored).

All callbacks of one call (its CallSid) make ONE melding on channel `phone` with the CallSid as
`external_id`, whatever order they arrive in: each is folded into the call's `voice_calls` row
(gateway.channels.twilio.voicecall and .calls), and the melding is made in that same transaction once the
call is complete: it ended, and its recording and transcription arrived or will not come. A call
that never completes (hang-up event lost, transcription that never comes) is made a melding by the
worker's `voice_settle` job once it had no callback for `voice_settle_seconds`; the job is scheduled
here, and the worker's voice sweep reschedules it should Redis lose it. After the melding a
transcription is added as a follow-up; other late callbacks only update the call's row.

Answer: `204 No Content` once the callback is committed (Twilio reads no body from these callbacks;
anything but 2xx makes it retry). A retry (same CallSid, event and SequenceNumber / RecordingSid /
TranscriptionSid with its status) changes nothing and gets 204 again.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from gateway import clock
from gateway.appkeys import INTAKE, METRICS, SETTINGS, STORE
from gateway.channels.twilio.calls import CHANNEL, Assembly, VoiceOutcome, record_callback
from gateway.channels.twilio.signature import TwilioEndpoint, signed_form
from gateway.channels.twilio.voicecall import EVENTS, Callback
from gateway.config import Settings
from gateway.handling import error_body
from gateway.intake import Intake
from gateway.queue import cancel_voice_settle, enqueue_voice_settle

log = logging.getLogger(__name__)

VOICE_ENDPOINT = TwilioEndpoint(CHANNEL, "voice_not_configured", "the Twilio Voice channel", "voice callback")


async def voice_callback(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    event = request.match_info["event"]
    if event not in EVENTS:
        return error_body(
            404, "unknown_event", f"unknown voice event {event!r}; accepted: {', '.join(EVENTS)}"
        )
    params = await signed_form(request, VOICE_ENDPOINT)
    callback = Callback(event, params, clock.now())
    if not callback.call_sid:
        request.app[METRICS].rejected(CHANNEL, "missing_call_sid")
        return error_body(422, "missing_call_sid", "a voice callback needs its CallSid", field="CallSid")
    if (too_long := callback.too_long()) is not None:
        field, limit = too_long
        request.app[METRICS].rejected(CHANNEL, "invalid_callback")
        log.warning("voice %s callback refused: %s longer than %d characters", event, field, limit)
        return error_body(422, "invalid_callback", f"{field} is longer than {limit} characters", field=field)
    started = time.perf_counter()
    store, intake = request.app[STORE], request.app[INTAKE]
    how = Assembly.from_settings(settings, transcribe=settings.voice_transcribe)
    outcome = await store.write(record_callback, callback, how)
    await _after_commit(settings, intake, outcome, callback, time.perf_counter() - started)
    request.app[METRICS].inbound_total.labels(CHANNEL, f"voice_{outcome.kind}").inc()
    log.info(
        "voice %s callback: %s",
        event,
        outcome.kind,
        extra={"call_sid": callback.call_sid, "reporter_phone": callback.get("From") or ""},
    )
    return web.Response(status=204)


async def _after_commit(
    settings: Settings, intake: Intake, outcome: VoiceOutcome, cb: Callback, seconds: float
) -> None:
    if outcome.stored is not None and outcome.draft is not None:
        await intake.accepted(outcome.draft, outcome.stored, seconds)  # queued for classification
        try:
            await cancel_voice_settle(intake.redis, settings.queue_name, cb.call_sid)
        except Exception as exc:  # harmless: the job finds the melding and stops
            log.warning("voice settle job not cancelled (%s)", exc)
    elif outcome.kind == "call_event":
        try:
            await enqueue_voice_settle(
                intake.redis, settings.queue_name, cb.call_sid, settings.voice_settle_seconds
            )
        except Exception as exc:  # stored all the same: the worker's voice sweep schedules it
            log.warning("voice settle job not scheduled (%s); the sweep will", exc)
    elif outcome.followup is not None and outcome.followup.followup_id is not None and outcome.melding_id:
        await intake.followup_queued(outcome.melding_id, outcome.followup)  # stored with the callback
        log.info("late transcription added as a follow-up", extra={"call_sid": cb.call_sid})
