"""Delivery receipts for outbound SMS: Twilio's StatusCallback `POST /channels/twilio/sms/status`.

Every SMS the worker sends asks for this callback (`status_callback_url`), and is recorded with
its MessageSid (`sms_messages`, gateway/store/sms.py). Twilio posts the form
(MessageSid, MessageStatus, ErrorCode, ...) signed like the inbound webhook: the signature is
checked the same way (`signed_form`: 503 without an auth token, 403 when missing or forged).

Statuses only move forward (queued < sending < sent < delivered | undelivered | failed): Twilio
does not promise the order of its callbacks, so a late `sent` after `delivered` changes nothing,
and a repeated callback neither. An unknown MessageSid (sent before this feature, or by another
system on the same account) is answered 204 and logged. On `undelivered` / `failed`:
- a transient error (TRANSIENT) has the same part sent again by the worker
  (workers/sms_resend.py) after `sms_delivery_resend_delay` seconds, doubling each time, at most
  `sms_delivery_max_resends` times; after that the notification decision is failed;
- any other code, known or not, fails the decision at once with the code and its meaning;
  21610 (the number unsubscribed) also records the opt-out, so nothing more is texted to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from gateway import clock
from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.channels.twilio.signature import TwilioEndpoint, signed_form
from gateway.channels.twilio.sms import CHANNEL
from gateway.config import Settings
from gateway.intake import IntakeRejected
from gateway.metrics import count
from gateway.queue import backoff, enqueue_sms_resend
from gateway.store import sms
from gateway.store.sms import OPTED_OUT, OPTED_OUT_KEYWORD, UNDELIVERED, SmsMessage

log = logging.getLogger(__name__)

PATH = "/channels/twilio/sms/status"

# Twilio's error meanings (twilio.com/docs/api/errors/<code>), for the decision's detail.
MEANINGS = {
    30001: "queue overflow",
    30002: "account suspended",
    30003: "unreachable destination handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "message filtered by the carrier",
    30008: "unknown error",
    30010: "message price exceeds max price",
    30017: "carrier network congestion",
    30018: "destination carrier requires sender ID pre-registration",
    30021: "internal failure of the messaging service",
    21211: "invalid 'To' phone number",
    21408: "permission to send to this region is not enabled",
    21610: "the recipient unsubscribed (replied STOP)",
    21612: "the 'To' number is not reachable",
    21614: "the 'To' number is not a mobile number",
}
# Worth sending again, per Twilio's error pages: the handset was off or out of coverage (30003:
# "retry the message ... a one-time downstream issue"), the send rate was exceeded (30001), the
# carrier was congested (30017), or the failure had no known cause on the carrier's or Twilio's
# side (30008, 30021). Everything else (a landline, an unknown or invalid number, filtering, a
# blocked or suspended account, an unsubscribed recipient) fails the same way every time.
TRANSIENT = frozenset({30001, 30003, 30008, 30017, 30021})

STATUS_ENDPOINT = TwilioEndpoint(CHANNEL, "sms_not_configured", "the SMS channel", "sms status callback")


def status_callback_url(settings: Settings) -> str | None:
    return f"{settings.public_url}{PATH}" if settings.public_url else None


def describe(code: int | None) -> str:
    if code is None:
        return "Twilio gave no error code"
    return f"Twilio {code} ({MEANINGS.get(code, 'see twilio.com/docs/api/errors/' + str(code))})"


@dataclass(frozen=True)
class Verdict:
    """What an undelivered message leads to: a resend at `resend_at`, or a failed decision."""

    resend_at: datetime | None = None
    failure: str | None = None


def verdict(message: SmsMessage, status: str, code: int | None, settings: Settings) -> Verdict:
    if status not in UNDELIVERED:
        return Verdict()
    part = f"part {message.part}/{message.parts} " if message.parts > 1 else ""
    what = f"{part}{message.sid} {status}: {describe(code)}"
    if code not in TRANSIENT:
        return Verdict(failure=what)
    if message.resends >= settings.sms_delivery_max_resends:
        return Verdict(failure=f"{what}; not resent: {message.resends} resends spent")
    # doubling, with jitter: after a carrier outage not every resend goes out at once
    delay = backoff(message.resends + 1, settings.sms_delivery_resend_delay)  # no cap: resends are few
    return Verdict(resend_at=clock.now() + timedelta(seconds=delay))


def _error_code(raw: str | None) -> int | None:
    """Twilio's codes are five ASCII digits; anything else (400 nines, "1e999", Arabic-Indic
    digits) is no code Twilio gave, and would not fit the store's INTEGER column."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    return int(raw)


async def sms_status(request: web.Request) -> web.Response:
    params = await signed_form(request, STATUS_ENDPOINT)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise IntakeRejected(422, "missing_status", "a status callback needs MessageSid and MessageStatus")
    code = _error_code(params.get("ErrorCode"))
    settings, store = request.app[SETTINGS], request.app[STORE]
    message = await store.lookup(sms.get_message, sid)
    if message is None:  # sent before delivery receipts existed, or not by the gateway
        log.info("sms status %s for an unknown message %s: ignored", status, sid)
        return web.Response(status=204)
    decided = verdict(message, status, code, settings)
    changed = await store.write(
        sms.update_status, sid, status, error_code=code, resend_at=decided.resend_at, failure=decided.failure
    )
    if changed:
        await _after_commit(request, message, status, code, decided)
    return web.Response(status=204)


async def _after_commit(
    request: web.Request, message: SmsMessage, status: str, code: int | None, decided: Verdict
) -> None:
    settings, store, redis = request.app[SETTINGS], request.app[STORE], request.app[REDIS]
    extra = {"message_sid": message.sid, "reporter_phone": message.recipient}
    if code == OPTED_OUT and status in UNDELIVERED:
        await store.write(
            sms.set_optout,
            message.recipient,
            opted_out=True,
            keyword=OPTED_OUT_KEYWORD,
            message_sid=message.sid,
        )
    if decided.failure is not None:
        log.warning("sms %s, notification failed: %s", status, decided.failure, extra=extra)
    try:  # Redis: what is committed stands without it (the sweep schedules a resend that is due)
        if status == "delivered":
            await count(redis, "sms_delivery_delivered")
        elif status in UNDELIVERED:
            await count(redis, "sms_delivery_undelivered")
        if decided.resend_at is not None:
            defer = max(0.0, (decided.resend_at - clock.now()).total_seconds())
            await enqueue_sms_resend(redis, settings.queue_name, message.sid, defer)
            log.info("sms %s (%s), resending in %.0fs", status, describe(code), defer, extra=extra)
    except Exception as exc:
        log.warning(
            "sms status %s: Redis failed (%s); the sweep schedules a due resend", status, exc, extra=extra
        )
