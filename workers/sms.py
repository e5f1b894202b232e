"""The SMS notification action: texts through Twilio's REST API (the twilio library, async).

`twilio_api_url` replaces the API's base URL (tests run a local stand-in). Numbers are sent in
E.164. Twilio's answers decide what happens next:
- network errors, timeouts, 5xx and 429: transient, the notify job is retried with backoff;
- error 21610 (the recipient replied STOP to our number): the opt-out is recorded, never retried;
- any other 4xx (21211 invalid number, 21614 not a mobile number, ...): failed at once.

A text longer than `sms_max_segments` segments goes as numbered parts (gateway/channels/twilio/segments.py).
Each part Twilio accepted is recorded with its MessageSid (`sms_messages`, gateway.store.sms) and as its own
notification row `<channel>#<k>`, so a retry after part 1 went out sends only the parts still
missing: a reporter never gets a message twice.

Every message asks Twilio for its StatusCallback (gateway/channels/twilio/sms_status.py): "sent"
here means Twilio accepted it; the receipt says whether the handset got it, a part undelivered
for a transient reason is resent (workers/sms_resend.py), any other failure fails the decision.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
from arq import Retry
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from gateway import texts
from gateway.channels.twilio import segments as sms_text
from gateway.channels.twilio.sms_status import status_callback_url
from gateway.config import Settings
from gateway.melding import Melding, StatusChange
from gateway.metrics import count
from gateway.phonenumber import e164
from gateway.store import notifications
from gateway.store import sms as sms_store
from gateway.store.sms import OPTED_OUT, OPTED_OUT_KEYWORD
from workers.ctx import redis, retry_delay, state
from workers.media import basic_authorization
from workers.notify import Rule, details

log = logging.getLogger("workers")

TIMEOUT = 30.0
FINAL_TRY = 5  # as the e-mail action: the notify job's fifth try is its last


class SmsError(Exception):
    def __init__(self, message: str, *, permanent: bool, code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


def not_configured(settings: Settings) -> str | None:
    """Why no SMS can be sent at all, like "GATEWAY_SMTP_RELAY is not set" for e-mail."""
    missing = [
        f"GATEWAY_{name.upper()}"
        for name in ("twilio_account_sid", "twilio_auth_token", "twilio_number")
        if not getattr(settings, name)
    ]
    return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set" if missing else None


def render_sms(m: Melding, change: StatusChange, settings: Settings, templates: Path, template: str) -> str:
    lang = texts.language(m.language)
    text = texts.render(
        template,
        lang,
        templates_dir=templates,
        reference=m.reference,
        status=texts.status_label(change.status, lang),
        details="".join(f" {d.rstrip('.')}." for d in details(change, lang)),
        question=(change.citizen_note or "").strip() or texts.text("sms.no_question", lang),
        tracking_url=f"{settings.public_url}/t/{m.tracking_token}",
    )
    return " ".join(text.split())  # one paragraph: line breaks in a template are for its readers


class _HttpClient(AsyncTwilioHttpClient):
    """Basic auth as a header: aiohttp deprecates the `auth=` parameter the library passes."""

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            headers = {**(headers or {}), "Authorization": basic_authorization(*auth)}
        return await super().request(method, url, params, data, headers, None, timeout, allow_redirects)


class Sender:
    """The twilio library's async client on the worker's own aiohttp session."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession):
        http = _HttpClient(pool_connections=False)
        http.session = session  # never closed here: the worker owns it
        # environment={}: TWILIO_REGION / TWILIO_EDGE in the environment would rewrite the host
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http, environment={}
        )
        self.client.api.base_url = settings.twilio_api_url.rstrip("/")
        self.sender = settings.twilio_number
        callback = status_callback_url(settings)
        self.callback: dict[str, Any] = {"status_callback": callback} if callback else {}

    async def send(self, to: str, body: str) -> str:
        origin: dict[str, Any] = (
            {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        )
        try:
            message = await asyncio.wait_for(
                self.client.messages.create_async(to=to, body=body, **origin, **self.callback), TIMEOUT
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            status = int(exc.status)
            transient = status >= 500 or status in (408, 429)
            detail = getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(exc)
            raise SmsError(
                f"Twilio {status} ({exc.code}): {detail}", permanent=not transient, code=exc.code
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SmsError(f"Twilio API: {type(exc).__name__}: {exc}", permanent=False) from exc
        return str(message.sid)


async def opted_out(ctx: dict[str, Any], melding: Melding) -> str | None:
    if await state(ctx).store.lookup(sms_store.opted_out, e164(melding.reporter.phone or "")):
        return "opted out"
    return None


async def send(
    ctx: dict[str, Any], rule: Rule, melding: Melding, change: StatusChange, history_id: int
) -> str:
    """Send the rule's text in as many parts as it takes; parts Twilio accepted before are not sent again."""
    s = state(ctx)
    to = e164(melding.reporter.phone or "")
    text = render_sms(melding, change, s.settings, s.templates, rule.template)
    parts = sms_text.split(text, s.settings.sms_max_segments)
    accepted = await s.store.read(sms_store.sent_parts, history_id, rule.channel)
    if accepted and await s.store.read(notifications.state_of, history_id, rule.channel) == "failed":
        return "failed"  # a delivery receipt decided: only a resend (workers/sms_resend.py) texts again
    sender = Sender(s.settings, s.session)
    sids = []
    for k, body in enumerate(parts, 1):
        if k in accepted:
            sids.append(accepted[k])
            continue
        try:
            sid = await sender.send(to, body)
        except SmsError as exc:
            return await _failed(ctx, rule, melding, history_id, to, exc)
        sent = {
            "sid": sid,
            "melding_id": melding.id,
            "history_id": history_id,
            "channel": rule.channel,
            "part": k,
            "parts": len(parts),
            "recipient": to,
            "body": body,
        }
        await s.store.write(sms_store.record_sent, sent)
        sids.append(sid)
        await count(redis(ctx), "sms_sent_sent")
        if len(parts) > 1:
            await s.store.write(
                notifications.record,
                melding.id,
                history_id,
                f"{rule.channel}#{k}",
                recipient=to,
                state="sent",
                detail=sid,
            )
    detail = sids[0] if len(parts) == 1 else f"{len(parts)} parts: {', '.join(sids)}"
    await s.store.write(
        notifications.record, melding.id, history_id, rule.channel, recipient=to, state="sent", detail=detail
    )
    log.info(
        "sms sent (%d part%s)",
        len(parts),
        "" if len(parts) == 1 else "s",
        extra={"reference": melding.reference},
    )
    return "sent"


async def _failed(
    ctx: dict[str, Any], rule: Rule, melding: Melding, history_id: int, to: str, exc: SmsError
) -> str:
    s = state(ctx)
    if exc.code == OPTED_OUT:  # Twilio knows of a STOP we never saw: remember it
        await s.store.write(
            sms_store.set_optout, to, opted_out=True, keyword=OPTED_OUT_KEYWORD, message_sid=None
        )
    try_ = ctx.get("job_try", 1)
    final = exc.permanent or try_ >= FINAL_TRY
    await s.store.write(
        notifications.record,
        melding.id,
        history_id,
        rule.channel,
        recipient=to,
        state="failed" if final else "retrying",
        detail=str(exc),
    )
    await count(redis(ctx), "sms_sent_failed" if final else "sms_sent_retrying")
    log.warning(
        "sms failed%s: %s", "" if final else ", retrying", exc, extra={"reference": melding.reference}
    )
    if final:
        return "failed"
    raise Retry(defer=retry_delay(ctx))
