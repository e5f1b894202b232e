"""Intake: validate, persist, enqueue; the one way into the gateway for every channel.

A channel calls `Intake.submit` and answers its sender only when that returns:
by then the melding is committed and its processing job is queued. Should Redis
be unreachable at that moment the melding is still safe: the worker's sweep
finds meldingen that were stored but never processed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from pydantic import ValidationError

from gateway import clock
from gateway.attachments import AttachmentStore, content_refusal, sniff_content_type
from gateway.config import Settings
from gateway.melding import Attachment, Channel, Melding, MeldingDraft, StatusUpdate
from gateway.metrics import Metrics
from gateway.queue import enqueue_delivery, enqueue_notify, enqueue_process_many
from gateway.store import Store, StoredIntake
from gateway.store import duplicates as duplicates_store
from gateway.store import history as history_store
from gateway.store import inbound as inbound_store
from gateway.store import meldingen as meldingen_store
from gateway.store.inbound import FollowupAdded
from gateway.store.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingFile:
    filename: str | None
    content_type: str
    data: bytes
    # The channel ran the whole-file check (`content_refusal`) on these very bytes already, as
    # `parse_mail` does for every attachment it accepts: a photo is not decoded twice.
    content_checked: bool = False


class IntakeRejected(Exception):
    """Bad input: the channel turns this into its own error (HTTP 4xx, SMTP 5xx)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        fields: list[dict[str, str]] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.fields = fields  # several fields, each with its reason


def invalid(exc: ValidationError, code: str) -> IntakeRejected:
    """A 422 that names every field the model refused, and why."""
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]} for e in exc.errors()
    ]
    message = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
    return IntakeRejected(422, code, message, fields=fields)


def json_object(raw: bytes | str, code: str, what: str = "request body") -> dict[str, Any]:
    """A JSON object, or the 4xx that says why not: 400 for what is not JSON (nested too deep
    included), 422 (`code`) for JSON that is no object."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntakeRejected(400, "malformed_json", f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise IntakeRejected(400, "malformed_json", f"{what} is nested too deeply") from None
    if not isinstance(body, dict):
        raise IntakeRejected(422, code, f"{what} must be a JSON object")
    return body


# Receipts that a notification rule answers (workers/notify.py): a mail to an e-mail sender, an SMS
# to a caller, who has nothing in writing. A web form and an SMS are answered by their channel,
# and also by the way a reporter chose (Reporter.feedback "email" or "sms"), who then has it in writing.
ACKNOWLEDGED_CHANNELS = frozenset({Channel.EMAIL, Channel.PHONE})
ACKNOWLEDGED_CHOICES = frozenset({"email", "sms"})


def acknowledged_entry(channel: Channel, stored: StoredIntake, feedback: str | None) -> int | None:
    """The `ontvangen` entry of a new melding whose notification a rule may answer, else None."""
    answered = channel in ACKNOWLEDGED_CHANNELS or feedback in ACKNOWLEDGED_CHOICES
    return stored.history_id if stored.created and answered else None


async def enqueue_acknowledgement(
    redis: ArqRedis, queue: str, channel: Channel, stored: StoredIntake, *, feedback: str | None = None
) -> None:
    """Queue the notification of a new melding's `ontvangen` entry where a rule may answer it."""
    if (history_id := acknowledged_entry(channel, stored, feedback)) is not None:
        await enqueue_notify(redis, queue, stored.id, history_id)


async def apply_status(
    store: Store, redis: ArqRedis, queue: str, melding_id: str, change: StatusUpdate
) -> int | None:
    """A status the case system set (its signed callback, or the worker reading TOPdesk back):
    appended to the melding's history, its notification queued, and passed on to the melding's
    duplicates (their reporters hear of it too). The history id, or None when the melding had that
    status already (a replay changes nothing). InvalidTransition when the table refuses it.
    Should the queueing fail, the sweep finds the status change never notified."""
    history_id = await store.write(history_store.add_status, melding_id, change)
    if history_id is None:
        return None
    await enqueue_notify(redis, queue, melding_id, history_id)
    for duplicate_id, duplicate_history in await store.write(
        duplicates_store.follow_master, melding_id, change
    ):
        await enqueue_notify(redis, queue, duplicate_id, duplicate_history)
    return history_id


async def apply_case_status(
    store: Store, redis: ArqRedis, queue: str, melding: Melding, change: StatusUpdate
) -> int | None:
    """`apply_status` for a status the case system set, whether it pushed it (the signed callback)
    or the worker read it back (TOPdesk polling): one home for what both must refuse. A duplicate's
    own case, opened before the desk confirmed the duplicate, no longer decides: its master's case
    does (and passes its statuses on), so that case's news changes nothing (None)."""
    if melding.duplicate_of is not None:
        log.info("case status of a duplicate's own case ignored", extra={"reference": melding.reference})
        return None
    return await apply_status(store, redis, queue, melding_id=melding.id, change=change)


class Intake:
    def __init__(
        self, settings: Settings, store: Store, redis: ArqRedis, files: AttachmentStore, metrics: Metrics
    ):
        self.settings = settings
        self.store = store
        self.redis = redis
        self.files = files
        self.metrics = metrics
        # Like the store's group commit: meldingen committed together are enqueued together, each
        # (melding id, its acknowledged `ontvangen` entry or None) as its process job and the
        # notify job of its receipt, the whole batch in one round trip.
        self._enqueuer: BatchWriter[tuple[str, int | None], None] = BatchWriter(self._enqueue_batch)

    async def start(self) -> None:
        self._enqueuer.start()

    async def stop(self) -> None:
        await self._enqueuer.stop()

    async def _enqueue_batch(self, received: Sequence[tuple[str, int | None]]) -> list[None]:
        notify = [(melding_id, entry) for melding_id, entry in received if entry is not None]
        melding_ids = [melding_id for melding_id, _ in received]
        await enqueue_process_many(self.redis, self.settings.queue_name, melding_ids, notify)
        return [None] * len(received)

    def check_files(self, incoming: Sequence[IncomingFile]) -> None:
        s = self.settings
        if len(incoming) > s.max_attachments:
            raise IntakeRejected(413, "too_many_attachments", f"at most {s.max_attachments} attachments")
        for n, f in enumerate(incoming):
            where = f"attachments[{n}]"
            if len(f.data) > s.max_attachment_bytes:
                raise IntakeRejected(
                    413,
                    "attachment_too_large",
                    f"{f.filename or where} is {len(f.data)} bytes; the limit is {s.max_attachment_bytes}",
                    where,
                )
            declared = f.content_type.split(";")[0].strip().lower()
            if declared not in s.attachment_types:
                raise IntakeRejected(
                    415,
                    "attachment_type_refused",
                    f"{f.filename or where}: {declared or 'no content type'} is not accepted "
                    f"(accepted: {', '.join(s.attachment_types)})",
                    where,
                )
            actual = sniff_content_type(f.data)
            if actual != declared:
                raise IntakeRejected(
                    415,
                    "attachment_content_mismatch",
                    f"{f.filename or where} is declared {declared} but its content is "
                    f"{actual or 'not a recognised image or PDF'}",
                    where,
                )

    @staticmethod
    def check_contents(incoming: Sequence[IncomingFile]) -> None:
        """The whole-file check (images decoded, executables refused), once per file as it is
        stored; after `check_files`, whose sniffing it relies on. Slow for a large photo: run it
        off the event loop."""
        for n, f in enumerate(incoming):
            if f.content_checked:
                continue
            where = f"attachments[{n}]"
            if (why := content_refusal(f.data, sniff_content_type(f.data))) is not None:
                declared = f.content_type.split(";")[0].strip().lower()
                raise IntakeRejected(
                    415,
                    "attachment_content_refused",
                    f"{f.filename or where} is declared {declared} but its content is {why}",
                    where,
                )

    async def submit(
        self,
        draft: MeldingDraft,
        incoming: Sequence[IncomingFile] = (),
        inbound: dict[str, Any] | None = None,
    ) -> StoredIntake:
        """`inbound`: the audit record of the received message (see `Store.intake`)."""
        started = time.perf_counter()
        self.check_files(incoming)
        saved: list[tuple[Attachment, bool]] = []
        if incoming:
            saved = await asyncio.to_thread(self._check_and_keep, incoming)
        written = [attachment for attachment, new in saved if new]
        try:
            stored = await self.store.intake(draft, [attachment for attachment, _ in saved], inbound)
        except Exception:
            await self._discard(written)
            raise
        if not stored.created:
            # Nothing new stored: a key of another melding (refused), or a repeat (the same
            # Message-ID with other bytes). A true replay wrote nothing: its files were there.
            await self._discard(written)
        await self.accepted(draft, stored, time.perf_counter() - started)
        if stored.created and (failed := tuple(a for a, _ in saved if a.state == "failed")):
            return dataclasses.replace(stored, attachments_failed=failed)
        return stored

    def _check_and_keep(self, incoming: Sequence[IncomingFile]) -> list[tuple[Attachment, bool]]:
        """Off the event loop in one hop: the whole-file check, then each file kept (none is kept
        when one is refused)."""
        self.check_contents(incoming)
        return [self.files.keep(f.data, filename=f.filename, content_type=f.content_type) for f in incoming]

    async def _discard(self, written: list[Attachment]) -> None:
        """No orphan file: remove what this request wrote when no melding of it was stored, unless a
        melding stored meanwhile (another request with the same photo) refers to it. Should the store
        not answer, the files stay: an unreferenced file is harmless, a missing one is not."""
        if not written:
            return
        try:
            in_use = await self.store.read(meldingen_store.attachments_in_use, [a.sha256 for a in written])
        except Exception as exc:
            log.warning("attachments of a refused request kept: %s", exc)
            return
        await asyncio.to_thread(self.files.discard, [a for a in written if a.sha256 not in in_use])

    async def accepted(self, draft: MeldingDraft, stored: StoredIntake, seconds: float) -> None:
        """After the commit: queue a new melding for processing, log and count it. For channels that
        store their melding inside a transaction of their own (a Twilio call:
        gateway.channels.twilio.calls)."""
        if stored.created:
            try:
                entry = acknowledged_entry(draft.channel, stored, draft.reporter.feedback)
                await self._enqueuer.submit((stored.id, entry))
            except Exception as exc:  # the melding is stored; the sweep will enqueue it
                log.warning(
                    "melding stored but not enqueued (%s); the sweep will pick it up",
                    exc,
                    extra={"reference": stored.reference},
                )
            # The reference leads to the reporter for whoever may see them; the log needs no more.
            log.info(
                "melding received", extra={"reference": stored.reference, "channel": draft.channel.value}
            )
        self.metrics.observe_intake(draft.channel.value, stored, seconds)

    async def add_followup(
        self,
        melding_id: str,
        *,
        channel: str,
        key: str,
        sender: str | None,
        text: str,
        files: Sequence[Attachment] = (),
        inbound: dict[str, Any] | None = None,
    ) -> int | None:
        """A reporter's later message on a melding, whatever the channel: stored once per (channel,
        key) together with what it sets in motion (back to the desk, `melding.followup`; see
        `gateway.store.inbound.add_followup_effects`) and its `inbound` audit record, then queued.
        None: stored before."""
        added = await self.store.write(
            inbound_store.add_followup,
            melding_id,
            channel=channel,
            external_id=key,
            received_at=clock.now(),
            sender=sender,
            text=text,
            files=files,
            record=inbound,
        )
        await self.followup_queued(melding_id, added)
        return added.followup_id

    async def followup_queued(self, melding_id: str, added: FollowupAdded) -> None:
        """After the commit. Should Redis fail now, the sweep finds the status change that was never
        notified and the delivery that is waiting: nothing is lost."""
        queue = self.settings.queue_name
        try:
            if added.history_id is not None:
                await enqueue_notify(self.redis, queue, melding_id, added.history_id)
            if added.delivery is not None:
                await enqueue_delivery(self.redis, queue, added.delivery)
        except Exception as exc:
            log.warning("follow-up stored but not queued (%s); the sweep will pick it up", exc)
