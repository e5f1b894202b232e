"""Store implementation (see the package docstring)."""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.melding import (
    Attachment,
    Delivery,
    DeliveryState,
    Location,
    Melding,
    MeldingDraft,
    Reporter,
    Stage,
    Status,
    StatusChange,
    can_transition,
)
from gateway.store import migrate
from gateway.store.schema import (
    attachments,
    deliveries,
    meldingen,
    notifications,
    reference_counters,
    status_history,
)
from gateway.store.writer import BatchWriter


class StoreError(Exception):
    """The store could not do what was asked (unreachable, not migrated, ...)."""


class InvalidTransition(Exception):
    def __init__(self, current: Status, new: Status):
        super().__init__(f"status cannot change from {current} to {new}")
        self.current = current
        self.new = new


@dataclass(frozen=True)
class StoredIntake:
    id: str
    reference: str
    tracking_token: str
    created: bool  # False: the idempotency key / message id was seen before
    conflict: bool = False  # True: seen before, but with a different request body


@dataclass(frozen=True)
class IntakeItem:
    draft: MeldingDraft
    attachments: Sequence[Attachment]


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    melding_id: str
    reference: str
    event: str
    idempotency_key: str
    payload: dict[str, Any] | None
    state: DeliveryState
    attempts: int
    generation: int
    last_error: str | None
    case_id: str | None
    next_attempt_at: datetime | None
    updated_at: datetime

    @property
    def job_id(self) -> str:
        # Stable while the delivery waits, new after a manual retry (arq refuses duplicate ids).
        return f"deliver:{self.id}:{self.generation}"


def engine_url(url: str) -> str:
    """Map the documented `sqlite:///` / `postgresql://` URLs onto async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise StoreError(f"unsupported GATEWAY_DATABASE_URL {url!r}: use sqlite:///path or postgresql://...")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url: str, *, timezone: str = "Europe/Brussels", reference_prefix: str = "1777"):
        self.url = url
        self._tz = ZoneInfo(timezone)
        self._prefix = reference_prefix
        self.engine: AsyncEngine = self._create_engine(url)
        self._sync_engine: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None
        if self.dialect == "sqlite":
            # One connection, kept open, used only by the single intake writer thread.
            self._sync_engine = create_engine(
                engine_url(url).replace("+aiosqlite", ""), pool_size=1, max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            _sqlite_pragmas(self._sync_engine)
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-intake")
        self._writer: BatchWriter[IntakeItem, StoredIntake] = BatchWriter(self._write_intake_batch)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _create_engine(self, url: str) -> AsyncEngine:
        target = engine_url(url)
        if target.startswith("sqlite"):
            path = target.removeprefix("sqlite+aiosqlite:///")
            if path and path != ":memory:":
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(target, pool_size=5, max_overflow=5)
            _sqlite_pragmas(engine)
            return engine
        return create_async_engine(target, pool_size=10, max_overflow=10, pool_pre_ping=True)

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self, *, migrate_schema: bool = True) -> None:
        try:
            if migrate_schema:
                await migrate.upgrade(self.engine)
            else:
                current = await migrate.current_revision(self.engine)
                if current != migrate.head_revision():
                    raise StoreError(f"store schema is at {current}, expected {migrate.head_revision()}")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open store {_safe_url(self.url)}: {exc}") from exc
        self._writer.start()

    async def close(self) -> None:
        await self._writer.stop()
        await self.engine.dispose()
        if self._sync_engine is not None and self._executor is not None:
            self._executor.shutdown(wait=True)
            self._sync_engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(gateway_write=True)
            async with conn.begin():
                yield conn

    # -- intake ----------------------------------------------------------------------------------

    async def intake(self, draft: MeldingDraft, attachment_list: Sequence[Attachment] = ()) -> StoredIntake:
        return await self._writer.submit(IntakeItem(draft, list(attachment_list)))

    async def _write_intake_batch(self, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        if self._sync_engine is not None:
            # SQLite: the whole batch in one hop to a writer thread, instead of one hop
            # (and one event-loop turn) per statement.
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._write_sync, items)
        async with self._writing() as conn:
            return await conn.run_sync(self._intake_batch, items)

    def _write_sync(self, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            conn = conn.execution_options(gateway_write=True)
            with conn.begin():
                return self._intake_batch(conn, items)

    def _intake_batch(self, conn: Connection, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        def key(item: IntakeItem) -> tuple[str, str] | None:
            d = item.draft
            return (d.channel.value, d.external_id) if d.external_id else None

        results: dict[int, StoredIntake] = {}
        keys = [k for k in map(key, items) if k]
        existing = self._existing_by_key(conn, keys) if keys else {}
        fresh: list[int] = []
        first_of_key: dict[tuple[str, str], int] = {}
        twins: list[int] = []
        for n, item in enumerate(items):
            k = key(item)
            if k in existing:
                results[n] = _replay(existing[k], item.draft.request_hash)
            elif k in first_of_key:
                twins.append(n)  # same key twice in one batch: answered from the first
            else:
                if k:
                    first_of_key[k] = n
                fresh.append(n)
        stored = self._insert_fresh(conn, [items[n] for n in fresh])
        results.update(zip(fresh, stored, strict=True))
        for n in twins:
            first_n = first_of_key[key(items[n])]  # type: ignore[index]
            first = results[first_n]
            conflict = items[n].draft.request_hash != items[first_n].draft.request_hash
            results[n] = StoredIntake(
                first.id, first.reference, first.tracking_token, created=False, conflict=conflict
            )
        return [results[n] for n in range(len(items))]

    def _existing_by_key(self, conn: Connection, keys: list[tuple[str, str]]) -> dict[Any, Row[Any]]:
        # Per channel with `external_id IN (...)`: SQLite serves that from the unique index,
        # a row-value IN over (channel, external_id) it would answer with a table scan.
        by_channel: dict[str, list[str]] = {}
        for channel, external_id in keys:
            by_channel.setdefault(channel, []).append(external_id)
        found: dict[Any, Row[Any]] = {}
        for channel, ids in by_channel.items():
            query = select(
                meldingen.c.id, meldingen.c.reference, meldingen.c.tracking_token, meldingen.c.request_hash,
                meldingen.c.channel, meldingen.c.external_id,
            ).where(meldingen.c.channel == channel, meldingen.c.external_id.in_(ids))
            found.update({(r.channel, r.external_id): r for r in conn.execute(query)})
        return found

    def _allocate_references(self, conn: Connection, years: list[int]) -> list[str]:
        """Sequential per year, in the city's time zone, allocated inside the intake transaction."""
        numbers: dict[int, Iterator[int]] = {}
        for year in set(years):
            count = years.count(year)
            ins = _insert(self.dialect, reference_counters).values(year=year, last=count)
            ins = ins.on_conflict_do_update(
                index_elements=["year"], set_={"last": reference_counters.c.last + count}
            ).returning(reference_counters.c.last)
            last = conn.execute(ins).scalar_one()
            numbers[year] = iter(range(last - count + 1, last + 1))
        return [f"{self._prefix}-{year}-{next(numbers[year]):06d}" for year in years]

    def _insert_fresh(self, conn: Connection, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        if not items:
            return []
        now = utcnow()
        years = [i.draft.received_at.astimezone(self._tz).year for i in items]
        refs = self._allocate_references(conn, years)
        rows, history, files, out = [], [], [], []
        for item, ref in zip(items, refs, strict=True):
            d = item.draft
            mid, token = str(uuid.uuid4()), secrets.token_urlsafe(24)
            rows.append(
                {
                    "id": mid,
                    "reference": ref,
                    "channel": d.channel.value,
                    "external_id": d.external_id,
                    "request_hash": d.request_hash,
                    "received_at": d.received_at,
                    "reporter_name": d.reporter.name,
                    "reporter_email": d.reporter.email,
                    "reporter_phone": d.reporter.phone,
                    "subject": d.subject,
                    "text": d.text,
                    "language": d.language,
                    **d.location.model_dump(),
                    "dienst": d.dienst,
                    "status": Status.ONTVANGEN.value,
                    "stage": Stage.RECEIVED.value,
                    "tracking_token": token,
                    "raw": d.raw,
                    "updated_at": now,
                }
            )
            history.append(
                {
                    "melding_id": mid,
                    "status": Status.ONTVANGEN.value,
                    "source": "intake",
                    "at": now,
                    "note": None,
                    "planned_date": None,
                    "external_partner": None,
                }
            )
            files.extend({"melding_id": mid, **a.model_dump()} for a in item.attachments)
            out.append(StoredIntake(mid, ref, token, created=True))
        _insert_many(conn, meldingen, rows)
        _insert_many(conn, status_history, history)
        if files:
            _insert_many(conn, attachments, files)
        return out

    # -- reading ---------------------------------------------------------------------------------

    async def get(self, melding_id: str) -> Melding | None:
        return await self._get_where(meldingen.c.id == melding_id)

    async def get_by_reference(self, reference: str) -> Melding | None:
        return await self._get_where(meldingen.c.reference == reference)

    async def get_by_token(self, token: str) -> Melding | None:
        return await self._get_where(meldingen.c.tracking_token == token)

    async def _get_where(self, condition: Any) -> Melding | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(meldingen).where(condition))).first()
            if row is None:
                return None
            hist = await conn.execute(
                select(status_history)
                .where(status_history.c.melding_id == row.id)
                .order_by(status_history.c.id)
            )
            files = await conn.execute(
                select(attachments).where(attachments.c.melding_id == row.id).order_by(attachments.c.id)
            )
            dels = await conn.execute(
                select(deliveries).where(deliveries.c.melding_id == row.id).order_by(deliveries.c.id)
            )
            return _melding(row, list(hist), list(files), list(dels))

    async def list_meldingen(self, *, stage: Stage | None = None, limit: int = 100) -> list[Melding]:
        query = select(meldingen.c.id).order_by(meldingen.c.received_at.desc()).limit(limit)
        if stage is not None:
            query = query.where(meldingen.c.stage == stage.value)
        async with self.engine.connect() as conn:
            ids = [r.id for r in await conn.execute(query)]
        found = [await self.get(i) for i in ids]
        return [m for m in found if m is not None]

    # -- pipeline updates ------------------------------------------------------------------------

    async def set_routing(
        self,
        melding_id: str,
        *,
        dienst: str | None,
        confidence: float | None,
        routed_by: str | None,
        alternatives: Sequence[tuple[str, float]],
        stage: Stage,
    ) -> None:
        async with self._writing() as conn:
            await conn.execute(
                update(meldingen)
                .where(meldingen.c.id == melding_id)
                .values(
                    dienst=dienst,
                    confidence=confidence,
                    routed_by=routed_by,
                    alternatives=[list(a) for a in alternatives],
                    stage=stage.value,
                    processed_at=utcnow(),
                    updated_at=utcnow(),
                )
            )

    async def set_stage(self, melding_id: str, stage: Stage) -> None:
        async with self._writing() as conn:
            await conn.execute(
                update(meldingen)
                .where(meldingen.c.id == melding_id)
                .values(stage=stage.value, updated_at=utcnow())
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
        async with self._writing() as conn:
            current_raw = (
                await conn.execute(
                    select(meldingen.c.status).where(meldingen.c.id == melding_id).with_for_update()
                )
            ).scalar_one()
            current = Status(current_raw)
            if current == status and not force:
                return None
            if not force and not can_transition(current, status):
                raise InvalidTransition(current, status)
            now = utcnow()
            await conn.execute(
                update(meldingen)
                .where(meldingen.c.id == melding_id)
                .values(status=status.value, updated_at=now)
            )
            result = await conn.execute(
                status_history.insert()
                .values(
                    melding_id=melding_id,
                    status=status.value,
                    note=note,
                    planned_date=planned_date,
                    external_partner=external_partner,
                    source=source,
                    at=now,
                )
                .returning(status_history.c.id)
            )
            return int(result.scalar_one())

    async def history_entry(self, history_id: int) -> StatusChange | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(status_history).where(status_history.c.id == history_id))
            ).first()
        return _status_change(row) if row else None

    # -- deliveries ------------------------------------------------------------------------------

    async def ensure_delivery(
        self, melding_id: str, event_name: str, *, key: str, payload: dict[str, Any] | None = None
    ) -> DeliveryRecord:
        """Create the delivery for (melding, event, key) once; return the existing one after that."""
        idem = f"{melding_id}:{event_name}:{key}"
        now = utcnow()
        async with self._writing() as conn:
            ins = (
                _insert(self.dialect, deliveries)
                .values(
                    melding_id=melding_id,
                    event=event_name,
                    idempotency_key=idem,
                    payload=payload,
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    generation=0,
                    created_at=now,
                    updated_at=now,
                    next_attempt_at=now,
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            await conn.execute(ins)
        record = await self._delivery_where(deliveries.c.idempotency_key == idem)
        assert record is not None
        return record

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        return await self._delivery_where(deliveries.c.id == delivery_id)

    async def _delivery_where(self, condition: Any) -> DeliveryRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(deliveries, meldingen.c.reference)
                    .join(meldingen, meldingen.c.id == deliveries.c.melding_id)
                    .where(condition)
                )
            ).first()
        return _delivery(row) if row else None

    async def delivery_failed(
        self, delivery_id: int, *, error: str, dead: bool, next_attempt_at: datetime | None
    ) -> DeliveryRecord:
        state = DeliveryState.DEAD if dead else DeliveryState.RETRYING
        async with self._writing() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    attempts=deliveries.c.attempts + 1,
                    state=state.value,
                    last_error=error[:2000],
                    next_attempt_at=next_attempt_at,
                    updated_at=utcnow(),
                )
            )
        record = await self.get_delivery(delivery_id)
        assert record is not None
        return record

    async def delivery_succeeded(self, delivery_id: int, *, case_id: str | None) -> None:
        now = utcnow()
        async with self._writing() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    attempts=deliveries.c.attempts + 1,
                    state=DeliveryState.DELIVERED.value,
                    case_id=case_id,
                    last_error=None,
                    next_attempt_at=None,
                    updated_at=now,
                    delivered_at=now,
                )
            )

    async def list_deliveries(
        self, states: Sequence[DeliveryState], limit: int = 1000
    ) -> list[DeliveryRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries, meldingen.c.reference)
                .join(meldingen, meldingen.c.id == deliveries.c.melding_id)
                .where(deliveries.c.state.in_([s.value for s in states]))
                .order_by(deliveries.c.id)
                .limit(limit)
            )
            return [_delivery(r) for r in rows]

    async def revive_dead(self, references: Sequence[str] | None = None) -> list[DeliveryRecord]:
        """Dead deliveries back to pending with a fresh retry budget (all, or those of the references)."""
        condition = deliveries.c.state == DeliveryState.DEAD.value
        async with self._writing() as conn:
            query = (
                select(deliveries.c.id)
                .join(meldingen, meldingen.c.id == deliveries.c.melding_id)
                .where(condition)
            )
            if references is not None:
                query = query.where(meldingen.c.reference.in_(list(references)))
            ids = [r.id for r in await conn.execute(query)]
            if ids:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(ids))
                    .values(
                        state=DeliveryState.PENDING.value,
                        attempts=0,
                        generation=deliveries.c.generation + 1,
                        next_attempt_at=utcnow(),
                        updated_at=utcnow(),
                    )
                )
                await conn.execute(
                    update(meldingen)
                    .where(
                        meldingen.c.id.in_(select(deliveries.c.melding_id).where(deliveries.c.id.in_(ids)))
                    )
                    .where(meldingen.c.stage == Stage.DEAD.value)
                    .values(stage=Stage.ROUTED.value, updated_at=utcnow())
                )
        found = [await self.get_delivery(i) for i in ids]
        return [d for d in found if d is not None]

    # -- the sweep -------------------------------------------------------------------------------

    async def unprocessed_meldingen(self, received_before: datetime, limit: int = 1000) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(meldingen.c.id)
                .where(meldingen.c.stage == Stage.RECEIVED.value, meldingen.c.received_at < received_before)
                .order_by(meldingen.c.received_at)
                .limit(limit)
            )
            return [r.id for r in rows]

    async def waiting_deliveries(self, due_before: datetime, limit: int = 1000) -> list[DeliveryRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries, meldingen.c.reference)
                .join(meldingen, meldingen.c.id == deliveries.c.melding_id)
                .where(
                    deliveries.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
                    deliveries.c.next_attempt_at < due_before,
                )
                .order_by(deliveries.c.next_attempt_at)
                .limit(limit)
            )
            return [_delivery(r) for r in rows]

    async def unnotified_history(self, before: datetime, limit: int = 1000) -> list[tuple[str, int]]:
        """Status changes (after intake) with no notification decision recorded yet."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(status_history.c.melding_id, status_history.c.id)
                .outerjoin(notifications, notifications.c.history_id == status_history.c.id)
                .where(
                    notifications.c.id.is_(None),
                    status_history.c.source != "intake",
                    status_history.c.at < before,
                )
                .order_by(status_history.c.id)
                .limit(limit)
            )
            return [(r.melding_id, r.id) for r in rows]

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
        async with self._writing() as conn:
            ins = _insert(self.dialect, notifications).values(
                melding_id=melding_id,
                history_id=history_id,
                channel=channel,
                recipient=recipient,
                state=state,
                detail=detail,
                created_at=utcnow(),
            )
            ins = ins.on_conflict_do_update(
                index_elements=["history_id", "channel"],
                set_={"state": state, "detail": detail, "recipient": recipient},
            )
            await conn.execute(ins)

    async def notification_state(self, history_id: int, channel: str) -> str | None:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(notifications.c.state).where(
                        notifications.c.history_id == history_id, notifications.c.channel == channel
                    )
                )
            ).scalar_one_or_none()

    # -- metrics ---------------------------------------------------------------------------------

    async def counts(self) -> dict[str, dict[str, int]]:
        async with self.engine.connect() as conn:
            stages = await conn.execute(select(meldingen.c.stage, func.count()).group_by(meldingen.c.stage))
            states = await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
            return {"stage": {r[0]: r[1] for r in stages}, "delivery": {r[0]: r[1] for r in states}}


@functools.cache
def _compiled_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup or []
    return compiled.string, [(name, table.c[name].type._cached_bind_processor(dialect)) for name in order]


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert. On SQLite the compiled statement goes straight to the driver's
    executemany, with SQLAlchemy's own bind processors applied: the same rows, a
    fraction of the per-row Python work on the intake hot path."""
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    sql, params = _compiled_insert(table, tuple(rows[0]), conn.dialect)
    values = [tuple(proc(row[name]) if proc else row[name] for name, proc in params) for row in rows]
    conn.exec_driver_sql(sql, values)


def _insert(dialect: str, table: Any) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _sqlite_pragmas(engine: AsyncEngine | Engine) -> None:
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer; FULL: a commit survives power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        # A write transaction takes the lock up front, so that two processes (serve and
        # worker) wait for each other instead of failing with SQLITE_BUSY on upgrade.
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("gateway_write") else "BEGIN"
        )


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _replay(row: Row[Any], request_hash: str | None) -> StoredIntake:
    conflict = bool(request_hash and row.request_hash and request_hash != row.request_hash)
    return StoredIntake(row.id, row.reference, row.tracking_token, created=False, conflict=conflict)


def _status_change(row: Row[Any]) -> StatusChange:
    return StatusChange(
        status=Status(row.status),
        at=row.at,
        note=row.note,
        planned_date=row.planned_date,
        external_partner=row.external_partner,
        source=row.source,
    )


def _delivery(row: Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        melding_id=row.melding_id,
        reference=row.reference,
        event=row.event,
        idempotency_key=row.idempotency_key,
        payload=row.payload,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        generation=row.generation,
        last_error=row.last_error,
        case_id=row.case_id,
        next_attempt_at=row.next_attempt_at,
        updated_at=row.updated_at,
    )


def _melding(row: Row[Any], hist: list[Row[Any]], files: list[Row[Any]], dels: list[Row[Any]]) -> Melding:
    return Melding(
        id=row.id,
        reference=row.reference,
        channel=row.channel,
        external_id=row.external_id,
        received_at=row.received_at,
        reporter=Reporter(name=row.reporter_name, email=row.reporter_email, phone=row.reporter_phone),
        subject=row.subject,
        text=row.text,
        language=row.language,
        location=Location(
            address=row.address,
            street=row.street,
            house_number=row.house_number,
            postcode=row.postcode,
            lat=row.lat,
            lon=row.lon,
        ),
        attachments=[
            Attachment(
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                storage_path=f.storage_path,
            )
            for f in files
        ],
        dienst=row.dienst,
        confidence=row.confidence,
        routed_by=row.routed_by,
        alternatives=[tuple(a) for a in (row.alternatives or [])],
        duplicate_of=row.duplicate_of,
        status=Status(row.status),
        stage=Stage(row.stage),
        status_history=[_status_change(h) for h in hist],
        deliveries=[
            Delivery(
                event=d.event,
                state=DeliveryState(d.state),
                attempts=d.attempts,
                last_error=d.last_error,
                case_id=d.case_id,
                updated_at=d.updated_at,
            )
            for d in dels
        ],
        tracking_token=row.tracking_token,
    )
