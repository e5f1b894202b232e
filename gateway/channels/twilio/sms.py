"""The SMS channel: Twilio's inbound webhook `POST /channels/twilio/sms`, answered with TwiML.

The `X-Twilio-Signature` is checked by `signature.signed_form`, as for every Twilio webhook.

An SMS becomes one of: a new melding, a follow-up on the sender's current melding (within
`sms_followup_window_hours` of it, or while it waits for the reporter's answer), or an
opt-out / opt-in (STOP, START and their Dutch variants). Twilio retries a webhook it got no
answer to: the MessageSid keys every outcome, so a retry changes nothing and gets the same answer.

MMS media (every MediaUrlN / MediaContentTypeN) are not fetched here: the answer must not wait
for downloads. They are recorded to fetch (`sms_media`) in the transaction of the melding or
follow-up they came with; the worker's `process` job fetches them (workers/media.py) before a
new melding is routed and delivered, and for a follow-up it is enqueued again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from arq.connections import ArqRedis

from gateway import clock, texts
from gateway.appkeys import INTAKE, METRICS, REDIS, SETTINGS, STORE
from gateway.channels.twilio.signature import TwilioEndpoint, signed_form
from gateway.cleantext import clean_text
from gateway.config import Settings
from gateway.intake import Intake, IntakeRejected
from gateway.language import detect_language
from gateway.melding import Channel, Melding, MeldingDraft, Reporter
from gateway.phonenumber import e164
from gateway.queue import enqueue_process
from gateway.store import Store, meldingen, sms
from gateway.store import inbound as inbound_store
from gateway.store.media import MEDIA_KEY

log = logging.getLogger(__name__)

CHANNEL = Channel.SMS.value

# Twilio's own opt-out / opt-in keywords, and the Dutch words a Flemish reporter would use.
OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPPEN", "AFMELDEN", "UITSCHRIJVEN"}
)
OPT_IN = frozenset({"START", "UNSTOP", "AANMELDEN"})

# What kind of inbound SMS gets an answer (the catalogue's sms.reply_<kind>, gateway.texts).
_REPLIES = frozenset({"melding", "followup"})


@dataclass(frozen=True)
class SmsOutcome:
    kind: str  # melding | followup | opt_out | opt_in
    twiml: str
    reference: str | None = None
    replayed: bool = False


def keyword(body: str) -> str | None:
    """The opt-out/opt-in keyword when that is the whole message (as Twilio matches them)."""
    word = body.strip().rstrip(".!").strip().upper()
    return word if word in OPT_OUT or word in OPT_IN else None


_TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml(text: str | None) -> str:
    """What the twilio library's `str(MessagingResponse().message(text))` gives (the same bytes,
    tests/test_sms.py), as one string: its element tree cost more than the rest of the answer."""
    if not text:
        return _TWIML_HEAD + "<Response />"
    return f"{_TWIML_HEAD}<Response><Message>{escape(text)}</Message></Response>"


class SmsIntake:
    def __init__(self, settings: Settings, intake: Intake, store: Store, redis: ArqRedis):
        self.settings = settings
        self.intake = intake
        self.store = store
        self.redis = redis

    async def accept(self, params: Mapping[str, str]) -> SmsOutcome:
        outcome = await self._accept(params)
        self.intake.metrics.inbound_total.labels(CHANNEL, outcome.kind).inc()
        return outcome

    def _reply(self, kind: str, language: str, reference: str, token: str) -> str:
        url = f"{self.settings.public_url}/t/{token}"
        return twiml(texts.text(f"sms.reply_{kind}", language, reference=reference, url=url))

    async def _accept(self, params: Mapping[str, str]) -> SmsOutcome:
        sid = next((params[k] for k in _SID_FIELDS if params.get(k)), None)
        if not sid:  # Twilio always sends one; without it the signed parameters are the key
            sid = "sha256:" + hashlib.sha256(json.dumps(sorted(params.items())).encode()).hexdigest()
        number = e164(params.get("From", ""))[:40]
        body = params.get("Body", "").strip()
        detected = detect_language(body)
        language = detected or "nl"

        # A retry: answer what the first delivery was answered, whatever happened since.
        if (seen := await self.store.lookup(inbound_store.inbound_outcome, CHANNEL, sid)) is not None:
            kind, melding_id = seen
            melding = await self.store.read(meldingen.get, melding_id) if melding_id else None
            if melding is None or kind not in _REPLIES:
                return SmsOutcome(kind, twiml(None), replayed=True)
            reply = self._reply(kind, language, melding.reference, melding.tracking_token)
            return SmsOutcome(kind, reply, melding.reference, replayed=True)

        media = [
            {"position": n, "url": params[f"MediaUrl{n}"], "content_type": params.get(f"MediaContentType{n}")}
            for n in range(_int(params.get("NumMedia")))
            if params.get(f"MediaUrl{n}")
        ]
        record: dict[str, Any] = {
            "channel": CHANNEL,
            "dedupe_key": sid,
            "source": "twilio",
            "sender": number,
            "details": {
                "to": params.get("To"),
                "messaging_service_sid": params.get("MessagingServiceSid"),
                "account_sid": params.get("AccountSid"),
                "media": [m["url"] for m in media],
            },
        }

        if (word := keyword(body)) is not None:  # no melding: its media have nowhere to go
            kind = "opt_in" if word in OPT_IN else "opt_out"
            await self.store.write(
                sms.set_optout, number, opted_out=kind == "opt_out", keyword=word, message_sid=sid
            )
            await self.store.write(inbound_store.record_inbound, {**record, "kind": kind})
            log.info("sms %s recorded", kind, extra={"reporter_phone": number})
            # Twilio itself answers STOP/START on long codes: a second answer would only confuse.
            return SmsOutcome(kind, twiml(None))

        since = clock.now() - timedelta(hours=self.settings.sms_followup_window_hours)
        if (target_id := await self.store.lookup(sms.conversation, number, since)) is not None:
            melding = await self.store.read(meldingen.get, target_id)
            if melding is not None:
                await self._followup(melding, sid, number, body, {**record, MEDIA_KEY: media})
                reply = self._reply("followup", language, melding.reference, melding.tracking_token)
                return SmsOutcome("followup", reply, melding.reference)

        draft = MeldingDraft(
            channel=Channel.SMS,
            external_id=sid,
            received_at=clock.now(),
            reporter=Reporter(phone=number or None),
            text=(body or "(sms zonder tekst)")[: self.settings.max_text_chars],
            language=detected,
            raw=json.dumps(dict(params), ensure_ascii=False),
        )
        # The media to fetch are written with the melding; its process job fetches them.
        stored = await self.intake.submit(draft, inbound={**record, "kind": "melding", MEDIA_KEY: media})
        reply = self._reply("melding", language, stored.reference, stored.tracking_token)
        return SmsOutcome("melding", reply, stored.reference, replayed=not stored.created)

    async def _followup(
        self, melding: Melding, sid: str, number: str, body: str, record: dict[str, Any]
    ) -> None:
        """As a mail reply (gateway.channels.email.mailintake): stored once per MessageSid."""
        text = (body or "(sms zonder tekst)")[: self.settings.max_text_chars]
        followup_id = await self.intake.add_followup(
            melding.id,
            channel=CHANNEL,
            key=sid,
            sender=number,
            text=text,
            inbound={**record, "kind": "followup", "melding_id": melding.id},  # with its MMS media
        )
        if record.get(MEDIA_KEY):  # also after a retried webhook: the job only fetches what is pending
            await enqueue_process(self.redis, self.settings.queue_name, melding.id)
        if followup_id is None:
            return
        log.info("sms follow-up added", extra={"reference": melding.reference, "reporter_phone": number})


def _int(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 10))  # Twilio sends at most 10 media
    except ValueError:
        return 0


_SID_FIELDS = ("MessageSid", "SmsMessageSid", "SmsSid")  # the key, in the order `_accept` reads them
MAX_SID = 64

SMS_ENDPOINT = TwilioEndpoint(CHANNEL, "sms_not_configured", "the SMS channel", "sms")


async def inbound_sms(request: web.Request) -> web.Response:
    fields = await signed_form(request, SMS_ENDPOINT)
    # Checked as signed, then cleaned (gateway.cleantext): an SMS with a NUL in it is still an SMS.
    fields = {key: clean_text(value) for key, value in fields.items()}
    sid_field = next((k for k in _SID_FIELDS if fields.get(k)), None)
    if sid_field is not None and len(fields[sid_field]) > MAX_SID:
        # Twilio's sids are 34 characters; a longer one is not Twilio's and would not fit the key's index.
        request.app[METRICS].rejected(CHANNEL, "invalid_message_sid")
        log.warning("sms refused: %s longer than %d characters", sid_field, MAX_SID)
        raise IntakeRejected(
            422, "invalid_message_sid", f"{sid_field} is longer than {MAX_SID} characters", sid_field
        )
    app = request.app
    handler = SmsIntake(app[SETTINGS], app[INTAKE], app[STORE], app[REDIS])
    outcome = await handler.accept(fields)
    return web.Response(text=outcome.twiml, content_type="text/xml", charset="utf-8")
