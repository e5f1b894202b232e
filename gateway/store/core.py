"""The `Store`: lifecycle, and how each operation of `queries` is run.

Every operation is one synchronous function over a `Connection`, run in one
transaction and in one hop:
- SQLite: on a thread. Writes go to a single writer thread (SQLite has one writer
  at a time; queueing them here hands the lock over at once instead of through
  SQLite's sleeping busy handler), reads to a small pool.
- PostgreSQL: through SQLAlchemy's `run_sync` on an asyncpg connection.
Intake writes are grouped by `BatchWriter` (group commit) before that.

`durable=False` (the worker's store) commits without waiting for the disk
(SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off): a power cut may
undo its last commits, never corrupt. That is safe for the worker because every
job is idempotent and the sweep redoes what is missing. Stores that answer
someone (intake, status callbacks) keep the default: a commit is on disk.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.melding import Attachment, DeliveryState, Melding, MeldingDraft, Stage, Status, StatusChange
from gateway.store import inbound, media, migrate, queries, sms, sms_messages, voice
from gateway.store.queries import DeliveryRecord, IntakeItem, InvalidTransition, StoredIntake
from gateway.store.schema import deliveries, meldingen
from gateway.store.writer import BatchWriter
from gateway.voicecall import Callback, VoiceCall

__all__ = ["Store", "StoreError", "StoredIntake", "DeliveryRecord", "InvalidTransition", "engine_url"]

T = TypeVar("T")


class StoreError(Exception):
    """The store could not do what was asked (unreachable, not migrated, ...)."""


def engine_url(url: str) -> str:
    """Map the documented `sqlite:///` / `postgresql://` URLs onto the drivers used."""
    if url.startswith("sqlite:///"):
        return url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise StoreError(f"unsupported GATEWAY_DATABASE_URL {url!r}: use sqlite:///path or postgresql://...")


class _ChannelRecords:
    """Mixed into Store: the inbound audit trail and follow-ups (gateway.store.inbound)."""

    read: Callable[..., Any]
    lookup: Callable[..., Any]
    write: Callable[..., Any]

    async def record_inbound(self, **row: Any) -> bool:
        """Record a received message once per (channel, dedupe_key); False when seen before."""
        return await self.write(inbound.record_inbound, {"received_at": queries.utcnow(), **row})

    async def add_followup(
        self,
        melding_id: str,
        *,
        channel: str,
        external_id: str,
        received_at: datetime,
        sender: str | None,
        text: str,
        files: Sequence[Attachment] = (),
        record: dict[str, Any] | None = None,
    ) -> inbound.FollowupAdded:
        """Once per (channel, external_id), with what it sets in motion and the message's inbound
        audit `record` (`inbound.add_followup_effects`)."""
        return await self.write(
            inbound.add_followup_effects,
            melding_id,
            channel,
            external_id,
            received_at,
            sender,
            text,
            list(files),
            record,
        )

    async def melding_by_external_id(self, channel: str, external_ids: list[str]) -> str | None:
        if not external_ids:
            return None
        return await self.read(inbound.melding_by_external_id, channel, external_ids)

    # SMS (gateway.store.sms)

    async def set_sms_optout(
        self, number: str, *, opted_out: bool, keyword: str, message_sid: str | None
    ) -> None:
        await self.write(sms.set_optout, number, opted_out, keyword, message_sid, queries.utcnow())

    async def sms_opted_out(self, number: str) -> bool:
        """True when the (E.164) number sent STOP and no START since: send it no SMS."""
        return await self.lookup(sms.opted_out, number)

    async def sms_conversation(self, number: str, since: datetime) -> str | None:
        return await self.lookup(sms.conversation, number, since)

    async def inbound_outcome(self, channel: str, dedupe_key: str) -> tuple[str, str | None] | None:
        return await self.lookup(sms.inbound_outcome, channel, dedupe_key)

    # SMS messages sent and their delivery status (gateway.store.sms_messages)

    async def record_sms_sent(self, **row: Any) -> None:
        """A message Twilio accepted: sid, melding_id, history_id, channel, part, parts, recipient, body."""
        await self.write(sms_messages.record_sent, row)

    async def sms_message(self, sid: str) -> sms_messages.SmsMessage | None:
        return await self.lookup(sms_messages.get_message, sid)

    async def sms_sent_parts(self, history_id: int, channel: str) -> dict[int, str]:
        return await self.read(sms_messages.sent_parts, history_id, channel)

    async def sms_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None,
        resend_at: datetime | None = None,
        failure: str | None = None,
    ) -> bool:
        """Twilio's status callback: True when the status moved forward (see sms_messages.update_status)."""
        return await self.write(sms_messages.update_status, sid, status, error_code, resend_at, failure)

    async def sms_resent(self, failed_sid: str, new_sid: str) -> bool:
        return await self.write(sms_messages.record_resend, failed_sid, new_sid)

    async def sms_not_resent(self, sid: str, detail: str) -> None:
        await self.write(sms_messages.give_up, sid, detail)

    async def sms_resends_due(self, before: datetime, limit: int = 1000) -> list[str]:
        return await self.read(sms_messages.resends_due, before, limit)

    async def list_sms_messages(self, melding_id: str) -> list[sms_messages.SmsMessage]:
        return await self.read(sms_messages.messages_of, melding_id)

    # MMS media to fetch (gateway.store.media, workers/media.py)

    async def list_media(self, melding_id: str, state: str | None = None) -> list[media.MediaRecord]:
        return await self.read(media.media_of, melding_id, state)

    async def media_stored(self, media_id: int, attachment: Attachment) -> bool:
        return await self.write(media.media_stored, media_id, attachment)

    async def media_failed(self, media_id: int, *, error: str, final: bool) -> int:
        return await self.write(media.media_failed, media_id, error, final)

    async def media_waiting(self, before: datetime, limit: int = 1000) -> list[str]:
        return await self.read(media.media_waiting, before, limit)


class Store(_ChannelRecords):
    def __init__(
        self,
        url: str,
        *,
        timezone: str = "Europe/Brussels",
        reference_prefix: str = "1777",
        durable: bool = True,
    ):
        self.url = url
        self.durable = durable
        self._tz = ZoneInfo(timezone)
        self._prefix = reference_prefix
        target = engine_url(url)
        self._sqlite: Engine | None = None
        self._async: AsyncEngine | None = None
        self._lookup_conn: Connection | None = None
        self._lookup_thread = 0
        if target.startswith("sqlite"):
            path = target.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._sqlite = create_engine(
                target, pool_size=5, max_overflow=0, connect_args={"check_same_thread": False}
            )
            _sqlite_pragmas(self._sqlite, synchronous="FULL" if durable else "NORMAL")
            self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
            self._read_threads = ThreadPoolExecutor(4, thread_name_prefix="sqlite-read")
        else:
            self._async = create_async_engine(target, pool_size=10, max_overflow=10, pool_pre_ping=True)
        # SQLite has one writer anyway; PostgreSQL overlaps the round trips of a few batches.
        self._writer: BatchWriter[IntakeItem, StoredIntake] = BatchWriter(
            self._write_intake_batch, concurrency=1 if self._sqlite is not None else 4
        )

    @property
    def dialect(self) -> str:
        return "sqlite" if self._sqlite is not None else "postgresql"

    # -- running operations ----------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` in a read transaction."""
        if self._sqlite is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._read_threads, self._sqlite_run, False, fn, args
            )
        assert self._async is not None
        async with self._async.connect() as conn:
            return await conn.run_sync(fn, *args)

    async def lookup(self, fn: Callable[..., T], *args: Any) -> T:
        """A read of a few rows through an index, for a webhook's fast path. SQLite runs it on the
        calling thread: handing it to a reader thread costs twice the CPU of the query itself, and
        in WAL mode a reader never waits for the writer."""
        if self._sqlite is not None:
            return self._sqlite_lookup(fn, args)
        return await self.read(fn, *args)

    def _sqlite_lookup(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        # One connection kept for the thread that owns the store (its event loop), without
        # BEGIN: each statement reads its own snapshot. A pool checkout and a transaction per
        # lookup cost more than the lookup.
        assert self._sqlite is not None
        if self._lookup_conn is None or self._lookup_thread != threading.get_ident():
            if self._lookup_conn is not None:
                return self._sqlite_run(False, fn, args)  # another thread: the ordinary way
            self._lookup_conn = self._sqlite.connect().execution_options(gateway_autocommit=True)
            self._lookup_thread = threading.get_ident()
        try:
            return fn(self._lookup_conn, *args)
        finally:
            self._lookup_conn.rollback()  # ends SQLAlchemy's own bookkeeping; SQLite has no transaction

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` in a write transaction, committed when it returns."""
        if self._sqlite is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._write_thread, self._sqlite_run, True, fn, args
            )
        async with self._pg_writing() as conn:
            return await conn.run_sync(fn, *args)

    def _sqlite_run(self, writing: bool, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._sqlite is not None
        with self._sqlite.connect() as conn:
            conn = conn.execution_options(gateway_write=writing)
            with conn.begin():
                return fn(conn, *args)

    @asynccontextmanager
    async def _pg_writing(self) -> AsyncIterator[AsyncConnection]:
        assert self._async is not None
        async with self._async.connect() as conn, conn.begin():
            if not self.durable:
                await conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self, *, migrate_schema: bool = True) -> None:
        try:
            if migrate_schema:
                await self.write(migrate.upgrade)
            else:
                current = await self.schema_revisions()
                if current != migrate.head_revisions():
                    raise StoreError(f"store schema is at {current}, expected {migrate.head_revisions()}")
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open store {_safe_url(self.url)}: {exc}") from exc
        self._writer.start()

    async def close(self) -> None:
        await self._writer.stop()
        if self._lookup_conn is not None:
            self._lookup_conn.close()
            self._lookup_conn = None
        if self._sqlite is not None:
            self._write_thread.shutdown(wait=True)
            self._read_threads.shutdown(wait=True)
            self._sqlite.dispose()
        if self._async is not None:
            await self._async.dispose()

    async def schema_revisions(self) -> set[str]:
        return await self.read(migrate.current_revisions)

    async def ping(self) -> None:
        await self.read(lambda conn: conn.execute(select(1)).scalar_one())

    # -- intake ----------------------------------------------------------------------------------

    async def intake(
        self,
        draft: MeldingDraft,
        attachment_list: Sequence[Attachment] = (),
        inbound: dict[str, Any] | None = None,
    ) -> StoredIntake:
        """Store a new melding (or find the one stored under its key), with the audit record of
        the message it came from, in one transaction."""
        if inbound is not None:
            inbound = {"received_at": queries.utcnow(), **inbound}
        return await self._writer.submit(IntakeItem(draft, list(attachment_list), inbound))

    async def _write_intake_batch(self, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        return await self.write(queries.intake_batch, items, self._tz, self._prefix)

    # -- meldingen -------------------------------------------------------------------------------

    async def get(self, melding_id: str) -> Melding | None:
        return await self.read(queries.get_melding, meldingen.c.id == melding_id)

    async def get_by_reference(self, reference: str) -> Melding | None:
        return await self.read(queries.get_melding, meldingen.c.reference == reference)

    async def get_by_token(self, token: str) -> Melding | None:
        return await self.read(queries.get_melding, meldingen.c.tracking_token == token)

    async def list_meldingen(self, *, stage: Stage | None = None, limit: int = 100) -> list[Melding]:
        return await self.read(queries.list_meldingen, stage, limit)

    async def route(
        self,
        melding_id: str,
        *,
        dienst: str | None,
        confidence: float | None,
        routed_by: str | None,
        alternatives: Sequence[tuple[str, float]],
        stage: Stage,
        delivery_event: str | None,
    ) -> DeliveryRecord | None:
        """Record the routing and, with `delivery_event`, create the first delivery (idempotent)."""
        return await self.write(
            queries.route, melding_id, dienst, confidence, routed_by, alternatives, stage, delivery_event
        )

    async def add_status(
        self,
        melding_id: str,
        status: Status,
        *,
        source: str,
        note: str | None = None,
        planned_date: date | None = None,
        external_partner: str | None = None,
        force: bool = False,
    ) -> int | None:
        """Append a status change; None when the melding already has that status (a replayed callback)."""
        return await self.write(
            queries.add_status, melding_id, status, source, note, planned_date, external_partner, force
        )

    async def history_entry(self, history_id: int) -> StatusChange | None:
        return await self.read(queries.history_entry, history_id)

    async def counts(self) -> dict[str, dict[str, int]]:
        return await self.read(queries.counts)

    # -- deliveries ------------------------------------------------------------------------------

    async def ensure_delivery(
        self, melding_id: str, event_name: str, *, key: str, payload: dict[str, Any] | None = None
    ) -> DeliveryRecord:
        """Create the delivery for (melding, event, key) once; return the existing one after that."""
        return await self.write(queries.ensure_delivery, melding_id, event_name, key, payload)

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        return await self.read(queries.delivery_where, deliveries.c.id == delivery_id)

    async def delivery_failed(
        self,
        delivery_id: int,
        *,
        error: str,
        dead: bool,
        next_attempt_at: datetime | None,
        dead_stage: Stage | None = None,
    ) -> DeliveryRecord:
        return await self.write(
            queries.delivery_failed, delivery_id, error, dead, next_attempt_at, dead_stage
        )

    async def delivery_succeeded(
        self,
        delivery_id: int,
        *,
        case_id: str | None,
        stage: Stage | None = None,
        first_status: Status | None = None,
    ) -> int | None:
        return await self.write(queries.delivery_succeeded, delivery_id, case_id, stage, first_status)

    async def list_deliveries(
        self, states: Sequence[DeliveryState], limit: int = 1000
    ) -> list[DeliveryRecord]:
        return await self.read(queries.list_deliveries, states, limit)

    async def revive_dead(self, references: Sequence[str] | None = None) -> list[DeliveryRecord]:
        """Dead deliveries back to pending with a fresh retry budget (all, or those of the references)."""
        return await self.write(queries.revive_dead, references)

    # -- the sweep -------------------------------------------------------------------------------

    async def unprocessed_meldingen(self, received_before: datetime, limit: int = 1000) -> list[str]:
        return await self.read(queries.unprocessed_meldingen, received_before, limit)

    async def waiting_deliveries(self, due_before: datetime, limit: int = 1000) -> list[DeliveryRecord]:
        return await self.read(queries.waiting_deliveries, due_before, limit)

    async def unnotified_history(self, before: datetime, limit: int = 1000) -> list[tuple[str, int]]:
        return await self.read(queries.unnotified_history, before, limit)

    # -- notifications ---------------------------------------------------------------------------

    async def record_notification(
        self,
        melding_id: str,
        history_id: int,
        channel: str,
        *,
        recipient: str | None,
        state: str,
        detail: str,
    ) -> None:
        await self.write(
            queries.record_notification, melding_id, history_id, channel, recipient, state, detail
        )

    async def notification_state(self, history_id: int, channel: str) -> str | None:
        return await self.read(queries.notification_state, history_id, channel)

    async def notification_states(self, history_id: int) -> dict[str, str]:
        return await self.read(queries.notification_states, history_id)

    # -- desk routing decisions ------------------------------------------------------------------

    async def set_desk_dienst(
        self, melding_id: str, dienst: str, *, delivery_event: str
    ) -> tuple[str, str | None]:
        """Route a melding waiting in triage as the desk decided (see queries.set_desk_dienst)."""
        return await self.write(queries.set_desk_dienst, melding_id, dienst, delivery_event)

    async def desk_decisions(self, limit: int = 100_000) -> list[tuple[str | None, str, str]]:
        return await self.read(queries.desk_decisions, limit)

    # -- duplicates and hotspots (gateway/dedupe; the decision itself runs in one write, see
    #    gateway.dedupe.service) ------------------------------------------------------------------

    async def follow_master(
        self,
        master_id: str,
        status: Status,
        *,
        source: str,
        note: str | None = None,
        planned_date: date | None = None,
        external_partner: str | None = None,
    ) -> list[tuple[str, int]]:
        """The master's new status for its duplicates: [(duplicate id, history id)]."""
        return await self.write(
            queries.follow_master, master_id, status, source, note, planned_date, external_partner
        )

    async def acknowledge_duplicate(self, duplicate_id: str) -> int | None:
        return await self.write(queries.acknowledge_duplicate, duplicate_id)

    async def reporter_deliveries(self, master_id: str) -> list[DeliveryRecord]:
        return await self.read(queries.reporter_deliveries, master_id)

    async def created_delivery_state(self, melding_id: str) -> DeliveryState | None:
        return await self.read(queries.created_delivery_state, melding_id)

    async def list_hotspots(self, *, since: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        return await self.read(queries.list_hotspots, since, limit)

    # -- Twilio Voice calls (gateway.store.voice) ------------------------------------------------

    def _assembly(self, transcribe: bool, max_text_chars: int) -> voice.Assembly:
        return voice.Assembly(transcribe, max_text_chars, self._tz, self._prefix)

    async def voice_callback(
        self, callback: Callback, *, transcribe: bool, max_text_chars: int
    ) -> voice.VoiceOutcome:
        """Fold a callback into its call; make the call's melding once it is complete (one transaction)."""
        return await self.write(voice.record_callback, callback, self._assembly(transcribe, max_text_chars))

    async def settle_voice_call(
        self, call_sid: str, *, quiet_before: datetime, max_text_chars: int
    ) -> voice.VoiceOutcome:
        """The melding of a call without callbacks since `quiet_before`, complete or not."""
        how = self._assembly(True, max_text_chars)
        return await self.write(voice.settle, call_sid, quiet_before, how)

    async def unsettled_voice_calls(self, quiet_before: datetime, limit: int = 1000) -> list[str]:
        return await self.read(voice.unsettled, quiet_before, limit)

    async def voice_call(self, call_sid: str) -> VoiceCall | None:
        return await self.read(voice.get_call, call_sid)


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. FULL: a commit survives power loss;
        # NORMAL: it survives a crash of the process, and the database stays consistent.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A write transaction takes the lock up front, so that two processes (serve and
        # worker) wait for each other instead of failing with SQLITE_BUSY on upgrade.
        options = conn.get_execution_options()
        if options.get("gateway_autocommit"):
            return  # Store.lookup: single statements, each its own transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("gateway_write") else "BEGIN")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
