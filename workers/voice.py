"""Twilio calls that went quiet: the `voice_settle` job and the voice sweep.

The HTTP handler schedules one `voice_settle` job per CallSid, `voice_settle_seconds` after the
call's first callback that did not complete it. When it runs, callbacks may have come since: it
then waits again (arq Retry) until the call has been quiet for the settle time, and makes the
call's melding as it is (the store re-checks that under the row lock; a callback that completed the
call in between has made the melding already). The sweep (a cron beside the main sweep) schedules
the job again for quiet calls without a melding, so a job lost with Redis does not lose the call.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry

from gateway import clock
from gateway.channels.twilio.calls import Assembly
from gateway.channels.twilio.calls import settle as settle_call
from gateway.intake import enqueue_acknowledgement
from gateway.melding import Channel
from gateway.queue import enqueue_process, enqueue_voice_settle
from gateway.store import voice_calls
from workers.ctx import redis, state

log = logging.getLogger("workers")

_MIN_DEFER = 0.05  # seconds: arq would otherwise spin on a Retry(defer=0)


async def settle(ctx: dict[str, Any], call_sid: str) -> str:
    s = state(ctx)
    settle_for = timedelta(seconds=s.settings.voice_settle_seconds)
    how = Assembly.from_settings(s.settings, transcribe=True)
    outcome = await s.store.write(settle_call, call_sid, clock.now() - settle_for, how)
    if outcome.kind == "waiting" and outcome.last_event_at is not None:
        remaining = (outcome.last_event_at + settle_for - clock.now()).total_seconds()
        raise Retry(defer=max(_MIN_DEFER, remaining))
    if outcome.stored is not None and outcome.stored.created:
        await enqueue_process(redis(ctx), s.settings.queue_name, outcome.stored.id)
        await enqueue_acknowledgement(redis(ctx), s.settings.queue_name, Channel.PHONE, outcome.stored)
        log.info(
            "call without callbacks for %ss became a melding",
            s.settings.voice_settle_seconds,
            extra={"reference": outcome.stored.reference, "call_sid": call_sid},
        )
    return outcome.kind


async def sweep_calls(ctx: dict[str, Any]) -> int:
    """Schedule the settle job of every quiet call without a melding; how many were not queued."""
    s = state(ctx)
    quiet_before = clock.now() - timedelta(seconds=s.settings.voice_settle_seconds)
    found = 0
    for call_sid in await s.store.read(voice_calls.unsettled, quiet_before):
        found += await enqueue_voice_settle(redis(ctx), s.settings.queue_name, call_sid, None)
    if found:
        log.warning("voice sweep scheduled %d quiet calls whose settle job was lost", found)
    return found
