"""What an inbound mail becomes: a new melding, a follow-up, or a recorded automatic message.

Called by the SMTP listener and the IMAP poller. Returns only once what the mail
became is committed and queued, so that the listener may answer 250 (or the
poller move the message away). Every mail is kept raw (content-addressed) and
recorded once per Message-ID: a re-sent or re-polled message changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from arq.connections import ArqRedis

from gateway import clock
from gateway.attachments import AttachmentStore
from gateway.channels.email.parse import ParsedMail, parse_mail
from gateway.config import Settings
from gateway.intake import IncomingFile, Intake, IntakeRejected
from gateway.melding import Attachment, Channel, Melding, MeldingDraft, Reporter
from gateway.store import Store, meldingen
from gateway.store import inbound as inbound_store

log = logging.getLogger(__name__)

CHANNEL = Channel.EMAIL.value
_INLINE_PARSE_LIMIT = 256 * 1024  # bigger mails are parsed off the event loop
_MAX_THREAD_IDS = 100  # of In-Reply-To, and of References (the last ones), looked up for threading


@dataclass(frozen=True)
class MailOutcome:
    kind: str  # melding | followup | duplicate | bounce | auto_reply | mailing_list | own_mail | bulk
    reference: str | None = None
    reason: str | None = None


class MailIntake:
    def __init__(
        self, settings: Settings, intake: Intake, store: Store, files: AttachmentStore, redis: ArqRedis
    ):
        self.settings = settings
        self.intake = intake
        self.store = store
        self.files = files
        self.redis = redis
        self.own_addresses = {a.lower() for a in [settings.email_address, *settings.email_aliases]}
        self.own_domain = settings.email_address.rsplit("@", 1)[-1].lower()
        self._reference = re.compile(rf"\b({re.escape(settings.reference_prefix)}-\d{{4}}-\d{{6}})\b")

    async def accept(self, raw: bytes, *, envelope_from: str | None, source: str) -> MailOutcome:
        outcome = await self._accept(raw, envelope_from, source)
        self.intake.metrics.inbound_total.labels(CHANNEL, outcome.kind).inc()
        return outcome

    async def _accept(self, raw: bytes, envelope_from: str | None, source: str) -> MailOutcome:
        digest = hashlib.sha256(raw).hexdigest()
        parsed = await self._parse(raw, envelope_from)
        # A repeat (re-sent, re-polled) is recognised by this key at each outcome below: the
        # melding, the follow-up and the audit record are each stored once per key.
        key = parsed.message_id or f"sha256:{digest}"
        # A full disk loses the raw copy, not the mail: the melding and its audit record are kept.
        raw_file, raw_written = await asyncio.to_thread(
            self.files.keep, raw, filename="bericht.eml", content_type="message/rfc822"
        )
        record: dict[str, Any] = {
            "channel": CHANNEL,
            "dedupe_key": key,
            "source": source,
            "envelope_from": envelope_from,
            "sender": parsed.from_address,
            "subject": parsed.subject[:1000] or None,
            "raw_path": raw_file.storage_path or None,
            "details": {
                "defects": list(parsed.defects),
                "forwarded_by": parsed.forwarded_by,
                "refused": [asdict(r) for r in parsed.refused],
            },
        }
        if raw_file.error:
            record["details"]["raw_not_stored"] = raw_file.error
        outcome = await self._store(parsed, key, record)
        if outcome.kind == "duplicate" and raw_written:
            # Received before with other bytes (another relay's Received line): the first copy is
            # the one recorded; this one would be a file nobody refers to.
            await asyncio.to_thread(self.files.discard, [raw_file])
        return outcome

    async def _store(self, parsed: ParsedMail, key: str, record: dict[str, Any]) -> MailOutcome:
        if parsed.automated is not None:
            kind, reason = parsed.automated.kind, parsed.automated.reason
            if not await self.store.write(
                inbound_store.record_inbound, {**record, "kind": kind, "reason": reason}
            ):
                return MailOutcome("duplicate", reason="received before")
            # What decided it, not its value: a subject or bounce text may name a person. The full
            # reason is in inbound_messages.
            log.info(
                "automatic mail stored, not a melding (by %s)",
                parsed.automated.reason.partition(":")[0],
                extra={"sender": parsed.from_address or "", "kind": parsed.automated.kind},
            )
            return MailOutcome(parsed.automated.kind, reason=parsed.automated.reason)
        target = await self.find_thread(parsed)
        if target is not None:
            return await self._followup(target, parsed, key, record)
        return await self._new_melding(parsed, key, record)

    async def _parse(self, raw: bytes, envelope_from: str | None) -> ParsedMail:
        def run() -> ParsedMail:
            return parse_mail(
                raw,
                own_addresses=self.own_addresses,
                envelope_from=envelope_from,
                max_attachment_bytes=self.settings.max_attachment_bytes,
                allowed_types=self.settings.attachment_types,
            )

        return run() if len(raw) <= _INLINE_PARSE_LIMIT else await asyncio.to_thread(run)

    # -- threading ------------------------------------------------------------------------------

    async def find_thread(self, parsed: ParsedMail) -> Melding | None:
        """The melding this mail answers, if any.

        Trusted: a reply to one of our own mails (our Message-IDs carry the reference),
        or to the reporter's first mail. The reference in the subject alone is trusted
        only from the reporter's own address: references are sequential, so anyone
        could otherwise append text to anyone's melding.
        """
        # The parent and the latest ancestors say which thread this is; a References header of
        # 40,000 ids (a hostile one) would exceed the database's parameter limit in one query.
        ids = list(
            dict.fromkeys([*parsed.in_reply_to[:_MAX_THREAD_IDS], *parsed.references[-_MAX_THREAD_IDS:]])
        )
        for message_id in ids:
            if message_id.lower().endswith("@" + self.own_domain) and (
                found := self._reference.search(message_id)
            ):
                melding = await self.store.read(meldingen.by_reference, found.group(1))
                if melding is not None:
                    return melding
        known = await self.store.read(inbound_store.melding_by_external_id, CHANNEL, ids) if ids else None
        if known is not None:
            return await self.store.read(meldingen.get, known)
        if found := self._reference.search(parsed.subject):
            melding = await self.store.read(meldingen.by_reference, found.group(1))
            if melding is not None and _same_address(melding.reporter.email, parsed.from_address):
                return melding
        return None

    # -- outcomes -------------------------------------------------------------------------------

    def _files(self, parsed: ParsedMail, refused: list[dict[str, Any]]) -> list[IncomingFile]:
        """The attachments intake accepts; the others are refused with the reason, never the mail."""
        files: list[IncomingFile] = []
        for a in parsed.attachments:
            # parse_mail accepted it only after the whole-file check (content_refusal)
            candidate = IncomingFile(a.filename, a.content_type, a.data, content_checked=True)
            try:
                if len(files) >= self.settings.max_attachments:
                    raise IntakeRejected(
                        413, "too_many_attachments", f"more than {self.settings.max_attachments}"
                    )
                self.intake.check_files([candidate])
            except IntakeRejected as exc:
                refused.append(
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": len(a.data),
                        "reason": exc.message,
                    }
                )
                continue
            files.append(candidate)
        return files

    async def _new_melding(self, parsed: ParsedMail, key: str, record: dict[str, Any]) -> MailOutcome:
        files = self._files(parsed, record["details"]["refused"])
        text = parsed.text.strip() or parsed.full_text.strip() or parsed.subject or "(e-mail zonder tekst)"
        draft = MeldingDraft(
            channel=Channel.EMAIL,
            external_id=key,
            received_at=clock.now(),
            reporter=Reporter(
                name=_clip(parsed.from_name, 200),
                email=_clip(parsed.from_address, 320),
                phone=_clip(parsed.phone, 40),
            ),
            subject=parsed.subject[:300] or None,
            text=text[: self.settings.max_text_chars],
            language=parsed.language,
        )
        stored = await self.intake.submit(draft, files, inbound={**record, "kind": "melding"})
        if not stored.created:
            return MailOutcome("duplicate", stored.reference, "received before")
        return MailOutcome("melding", stored.reference)  # acknowledged by a notification rule

    async def _followup(
        self, melding: Melding, parsed: ParsedMail, key: str, record: dict[str, Any]
    ) -> MailOutcome:
        text = parsed.text.strip() or parsed.full_text.strip() or parsed.subject
        saved: list[tuple[Attachment, bool]] = []
        if files := self._files(parsed, record["details"]["refused"]):  # a photo sent later is not lost
            # content-addressed: a re-sent mail finds its files already there
            saved = await asyncio.to_thread(
                lambda: [
                    self.files.keep(f.data, filename=f.filename, content_type=f.content_type) for f in files
                ]
            )
        followup_id = await self.intake.add_followup(
            melding.id,
            channel=CHANNEL,
            key=key,
            sender=parsed.from_address,
            text=text[: self.settings.max_text_chars],
            files=[attachment for attachment, _ in saved],
            inbound={**record, "kind": "followup", "melding_id": melding.id},
        )
        if followup_id is None:  # a repeat with other files: those it wrote would be orphans
            await asyncio.to_thread(self.files.discard, [a for a, written in saved if written])
            return MailOutcome("duplicate", melding.reference, "follow-up received before")
        log.info(
            "follow-up added", extra={"reference": melding.reference, "sender": parsed.from_address or ""}
        )
        return MailOutcome("followup", melding.reference)


def _same_address(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().lower() == b.strip().lower())


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
