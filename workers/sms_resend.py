"""Resending an SMS part that Twilio reported undelivered for a transient reason.

The status callback (gateway/channels/twilio/sms_status.py) records when a resend is due
(`sms_messages.resend_at`) and schedules the `sms_resend` job, keyed on the failed message's
sid. The job sends the same body to the same number (asking for the same StatusCallback) and
records it as a new message, one resend further, whose own receipt may lead to the next resend
until `sms_delivery_max_resends` is spent. Once the failed message has `resent_as`, the job does
nothing: scheduling it twice (the callback, the sweep) sends one resend. A crash between Twilio's
answer and that store write sends it once more (at least once, as the notify job).

A number that opted out meanwhile is never texted: the decision fails instead. The sweep (a cron
beside the main sweep) schedules the job again for resends overdue by `sweep_grace`, so a job lost
with Redis costs a delay, not the resend.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry

from gateway import clock
from gateway.channels.twilio.sms_status import OPTED_OUT, OPTED_OUT_KEYWORD, describe
from gateway.metrics import count
from gateway.queue import enqueue_sms_resend
from gateway.store import sms
from gateway.store.sms import SmsMessage
from workers.ctx import redis, retry_delay, state
from workers.sms import FINAL_TRY, Sender, SmsError, not_configured

log = logging.getLogger("workers")


def _undelivered(message: SmsMessage) -> str:
    part = f"part {message.part}/{message.parts} " if message.parts > 1 else ""
    return f"{part}{message.sid} {message.status}: {describe(message.error_code)}"


async def resend(ctx: dict[str, Any], failed_sid: str) -> str:
    s = state(ctx)
    failed = await s.store.lookup(sms.get_message, failed_sid)
    if failed is None:
        log.error("sms_resend: no message %s in the store", failed_sid)
        return "missing"
    if failed.resent_as is not None or failed.resend_at is None:
        return "nothing to do"
    reason = not_configured(s.settings)
    if reason is None and await s.store.lookup(sms.opted_out, failed.recipient):
        reason = "the number opted out"
    if reason is not None:
        await s.store.write(sms.give_up, failed_sid, f"{_undelivered(failed)}; not resent: {reason}")
        log.warning("sms not resent: %s", reason, extra={"message_sid": failed_sid})
        return "not resent"
    try:
        sid = await Sender(s.settings, s.session).send(failed.recipient, failed.body)
    except SmsError as exc:
        return await _failed(ctx, failed, exc)
    await s.store.write(sms.record_resend, failed_sid, sid)
    await count(redis(ctx), "sms_delivery_resent")
    log.info(
        "sms resent (%s)",
        describe(failed.error_code),
        extra={"message_sid": sid, "resend_of": failed_sid, "reporter_phone": failed.recipient},
    )
    return "resent"


async def _failed(ctx: dict[str, Any], failed: SmsMessage, exc: SmsError) -> str:
    s = state(ctx)
    if exc.code == OPTED_OUT:  # Twilio knows of a STOP we never saw: remember it
        await s.store.write(
            sms.set_optout, failed.recipient, opted_out=True, keyword=OPTED_OUT_KEYWORD, message_sid=None
        )
    if not exc.permanent and ctx.get("job_try", 1) < FINAL_TRY:
        log.warning("sms resend failed, retrying: %s", exc, extra={"message_sid": failed.sid})
        raise Retry(defer=retry_delay(ctx))
    await s.store.write(sms.give_up, failed.sid, f"{_undelivered(failed)}; resend refused: {exc}")
    log.warning("sms resend failed: %s", exc, extra={"message_sid": failed.sid})
    return "failed"


async def sweep_resends(ctx: dict[str, Any]) -> int:
    """Schedule every overdue resend whose job was lost; how many were not queued."""
    s = state(ctx)
    cutoff = clock.now() - timedelta(seconds=s.settings.sweep_grace)
    found = 0
    for sid in await s.store.read(sms.resends_due, cutoff):
        found += await enqueue_sms_resend(redis(ctx), s.settings.queue_name, sid, None)
    if found:
        log.warning("sms sweep scheduled %d resends whose job was lost", found)
    return found
