"""The `Store`: lifecycle, and how each store operation is run.

Every operation is one synchronous function over a `Connection`, found in the module of what it
stores (`gateway.store.meldingen`, `.deliveries`, `.sms`, ...), and run by the caller through
`store.read(op, ...)`, `store.lookup(op, ...)` or `store.write(op, ...)` in one transaction and
in one hop:
- SQLite: on a thread. Writes go to a single writer thread (SQLite has one writer
  at a time; queueing them here hands the lock over at once instead of through
  SQLite's sleeping busy handler), reads to a small pool.
  The worker's store (`on_loop=True`) reads on its event loop instead: it is their only user,
  and a thread hop cost more CPU than most of its queries (its writes are grouped instead).
- PostgreSQL: through SQLAlchemy's `run_sync` on an asyncpg connection; a pooled connection is
  pinged only when it sat idle for `PING_AFTER_IDLE` seconds.
Intake writes are grouped by `BatchWriter` (group commit) before that; so are the worker's
(`write_grouped`, `read_grouped`).

`durable=False` (the worker's store) commits without waiting for the disk
(SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off): a power cut may
undo its last commits, never corrupt. That is safe for the worker because every
job is idempotent and the sweep redoes what is missing. Stores that answer
someone (intake, status callbacks) keep the default: a commit is on disk.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.melding import Attachment, MeldingDraft
from gateway.store import deliveries, meldingen, migrate, notifications
from gateway.store.duplicates import (
    dedupe_locks,
    holding_dedupe_locks,
    succeeded_and_waiting,
    succeeded_and_waiting_many,
)
from gateway.store.meldingen import IntakeItem, StoredIntake, intake_batch
from gateway.store.sql import utcnow
from gateway.store.writer import BatchWriter

__all__ = ["Store", "StoreError", "StoreUnavailable", "engine_url"]

T = TypeVar("T")


class StoreError(Exception):
    """The store could not do what was asked (unreachable, not migrated, ...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used right now (refused connection, file that cannot be
    opened, disk I/O error, lock held too long): nothing was stored, and trying again later may
    work. HTTP answers 503 with Retry-After, SMTP 451, /healthz 503; never a 500 with a trace."""


# SQLite's OperationalErrors that mean "the database cannot be used now", not "this SQL is wrong"
# (a missing table is an OperationalError too, and a bug).
_SQLITE_UNAVAILABLE = (
    "unable to open",
    "disk i/o",
    "database is locked",
    "database or disk is full",
    "readonly database",
    "no such file",
    "file is not a database",
)


def _unavailable(exc: BaseException) -> bool:
    """Whether `exc`, raised by a store operation, means that the database is out of reach."""
    if isinstance(exc, OSError | TimeoutError | DisconnectionError):
        return True  # asyncpg's refused or reset connection, connect timeout, pool invalidation
    if isinstance(exc, asyncpg.exceptions.PostgresConnectionError | asyncpg.exceptions.CannotConnectNowError):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection" in str(exc).lower():
        return True  # "connection is closed", "cannot perform operation: another operation..."
    if isinstance(exc, OperationalError | InterfaceError):
        if isinstance(exc.orig, sqlite3.Error):
            text = str(exc.orig).lower()
            return any(marker in text for marker in _SQLITE_UNAVAILABLE)
        return (
            isinstance(exc, OperationalError)
            or exc.connection_invalidated
            or (exc.orig is not None and _unavailable(exc.orig))
        )
    return False


def _unavailable_as_typed(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Raise `StoreUnavailable` where the driver's error says the database is out of reach."""

    @functools.wraps(method)
    async def run(self: Store, *args: Any, **kwargs: Any) -> T:
        try:
            return await method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if _unavailable(exc):
                raise StoreUnavailable(
                    f"store {_safe_url(self.url)} unavailable: {exc.__class__.__name__}: {exc}"
                ) from exc
            raise

    return run


def engine_url(url: str) -> str:
    """Map the documented `sqlite:///` / `postgresql://` URLs onto the drivers used."""
    if url.startswith("sqlite:///"):
        return url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise StoreError(f"unsupported GATEWAY_DATABASE_URL {url!r}: use sqlite:///path or postgresql://...")


class Store:
    def __init__(
        self,
        url: str,
        *,
        timezone: str = "Europe/Brussels",
        reference_prefix: str = "1777",
        durable: bool = True,
        on_loop: bool = False,
    ):
        """`on_loop` (SQLite): run reads on the calling (event loop) thread, for a process whose
        only user of the store is that loop (the worker): a thread hop per read cost more CPU than
        most of its queries, and in WAL mode a reader never waits. Writes stay on the writer
        thread: waiting there for another process's write lock (`gateway serve`'s intake) must
        not stop the loop; grouped (`write_grouped`), they pay that hop once per batch."""
        self.url = url
        self.durable = durable
        self.on_loop = on_loop
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
            # A connect timeout well under a client's patience: an unreachable server answers 503
            # in seconds instead of holding every request for asyncpg's default minute.
            # A store that need not wait for the disk says so once per connection, not with a
            # SET LOCAL round trip in every write transaction.
            connect_args: dict[str, Any] = {"timeout": 5}
            if not durable:
                connect_args["server_settings"] = {"synchronous_commit": "off"}
            self._async = create_async_engine(
                target, pool_size=10, max_overflow=10, connect_args=connect_args
            )
            _ping_when_idle(self._async.sync_engine)
        # SQLite has one writer anyway; PostgreSQL overlaps the round trips of a few batches.
        self._writer: BatchWriter[IntakeItem, StoredIntake] = BatchWriter(
            self._write_intake_batch, concurrency=1 if self._sqlite is not None else 4
        )
        # The worker's grouped operations (`write_grouped`, `read_grouped`): group commit.
        self._grouped_writes: BatchWriter[GroupedOp, Any] = BatchWriter(
            self._write_group,
            concurrency=1 if self._sqlite is not None else 2,
            whole=True,
        )
        self._grouped_reads: BatchWriter[GroupedOp, Any] = BatchWriter(
            self._read_group, concurrency=2, linger=GROUP_LINGER if on_loop else 0, whole=True
        )

    @property
    def dialect(self) -> str:
        return "sqlite" if self._sqlite is not None else "postgresql"

    # -- running operations ----------------------------------------------------------------------

    @_unavailable_as_typed
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(connection, *args, **kwargs)` in a read transaction."""
        if self._sqlite is not None:
            if self.on_loop:
                return self._sqlite_run(False, fn, args, kwargs)
            return await asyncio.get_running_loop().run_in_executor(
                self._read_threads, self._sqlite_run, False, fn, args, kwargs
            )
        assert self._async is not None
        async with self._async.connect() as conn:
            # No BEGIN/ROLLBACK (two round trips of every read): under PostgreSQL's READ COMMITTED
            # each statement reads its own snapshot inside a transaction too, so a read sees the
            # same rows without one (a read takes no locks and writes nothing).
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await conn.run_sync(fn, *args, **kwargs)

    @_unavailable_as_typed
    async def lookup(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read of a few rows through an index, for a webhook's fast path. SQLite runs it on the
        calling thread: handing it to a reader thread costs twice the CPU of the query itself, and
        in WAL mode a reader never waits for the writer."""
        if self._sqlite is not None:
            return self._sqlite_lookup(fn, args, kwargs)
        return await self.read(fn, *args, **kwargs)

    def _sqlite_lookup(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        # One connection kept for the thread that owns the store (its event loop), without
        # BEGIN: each statement reads its own snapshot. A pool checkout and a transaction per
        # lookup cost more than the lookup.
        assert self._sqlite is not None
        if self._lookup_conn is None or self._lookup_thread != threading.get_ident():
            if self._lookup_conn is not None:
                return self._sqlite_run(False, fn, args, kwargs)  # another thread: the ordinary way
            self._lookup_conn = self._sqlite.connect().execution_options(gateway_autocommit=True)
            self._lookup_thread = threading.get_ident()
        try:
            return fn(self._lookup_conn, *args, **kwargs)
        finally:
            self._lookup_conn.rollback()  # ends SQLAlchemy's own bookkeeping; SQLite has no transaction

    @_unavailable_as_typed
    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(connection, *args, **kwargs)` in a write transaction, committed when it returns."""
        if self._sqlite is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._write_thread, self._sqlite_run, True, fn, args, kwargs
            )
        async with self._pg_writing() as conn:
            return await conn.run_sync(fn, *args, **kwargs)

    def _sqlite_run(
        self, writing: bool, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        assert self._sqlite is not None
        with self._sqlite.connect() as conn:
            conn = conn.execution_options(gateway_write=writing)
            with conn.begin():
                return fn(conn, *args, **kwargs)

    async def write_grouped(
        self, fn: Callable[..., T], *args: Any, lock: str | None = None, **kwargs: Any
    ) -> T:
        """`write`, in one transaction with the grouped writes submitted meanwhile (group commit:
        a busy worker's 50 concurrent jobs pay one BEGIN/COMMIT, one pool checkout and on SQLite
        one lock handover per batch, not per write). Each caller still returns only once its
        write is committed, and sees only its own result or error: a batch that fails is run
        again one operation at a time (`BatchWriter`), so one failing operation never undoes
        another's. `lock`: the dienst whose dedupe lock `fn` takes; a batch takes all of them
        first, in order, so that two workers' batches cannot deadlock on them."""
        if not self._grouped_writes.started:
            return await self.write(fn, *args, **kwargs)
        result: T = await self._grouped_writes.submit(GroupedOp(fn, args, kwargs, lock))
        return result

    async def read_grouped(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`read`, in one transaction with the grouped reads submitted meanwhile; the meldingen
        that several of them read (`meldingen.get`, `with_delivery`) are read together, in five
        queries for all (`_run_reads`). A SQLite store off the loop reads as `read` does."""
        if (self._sqlite is not None and not self.on_loop) or not self._grouped_reads.started:
            return await self.read(fn, *args, **kwargs)
        result: T = await self._grouped_reads.submit(GroupedOp(fn, args, kwargs))
        return result

    async def _write_group(self, ops: Sequence[GroupedOp]) -> list[Any]:
        return await self.write(_run_grouped, ops)

    async def _read_group(self, ops: Sequence[GroupedOp]) -> list[Any]:
        return await self.read(_run_reads, ops)

    @asynccontextmanager
    async def _pg_writing(self) -> AsyncIterator[AsyncConnection]:
        assert self._async is not None
        async with self._async.connect() as conn, conn.begin():
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
        except StoreUnavailable as exc:  # still unavailable (a 503 to callers), worded for start-up
            raise StoreUnavailable(
                f"cannot open store {_safe_url(self.url)}: {exc.__cause__ or exc}"
            ) from exc
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open store {_safe_url(self.url)}: {exc}") from exc
        self._writer.start()
        self._grouped_writes.start()
        self._grouped_reads.start()

    async def close(self) -> None:
        await self._writer.stop()
        await self._grouped_writes.stop()
        await self._grouped_reads.stop()
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
        """The migration heads the database is at (part of the lifecycle: `open` checks them)."""
        return await self.read(migrate.current_revisions)

    async def ping(self) -> None:
        """One round trip to the database (/healthz)."""
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
            inbound = {"received_at": utcnow(), **inbound}
        return await self._writer.submit(IntakeItem(draft, list(attachment_list), inbound))

    async def _write_intake_batch(self, items: Sequence[IntakeItem]) -> list[StoredIntake]:
        return await self.write(intake_batch, items, self._tz, self._prefix)


@dataclass(frozen=True)
class GroupedOp:
    """One operation of a group commit (`Store.write_grouped`)."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    lock: str | None = None  # the dienst whose dedupe lock it takes (PostgreSQL)


def _run_grouped(conn: Connection, ops: Sequence[GroupedOp]) -> list[Any]:
    with holding_dedupe_locks(conn):  # an operation's own dedupe_locks then cost nothing
        dedupe_locks(conn, sorted({op.lock for op in ops if op.lock is not None}))  # one order for all
        results: list[Any] = [None] * len(ops)
        together: dict[Callable[..., Any], list[int]] = {}
        n = 0
        while n < len(ops):
            op = ops[n]
            if op.fn in _WRITE_MANY:
                together.setdefault(op.fn, []).append(n)
                n += 1
                continue
            end = n + 1
            if op.fn in _RUN_MANY:
                while end < len(ops) and ops[end].fn is op.fn:  # only a run: the batch's order kept
                    end += 1
                done = (
                    _RUN_MANY[op.fn](conn, [(o.args, o.kwargs) for o in ops[n:end]]) if end > n + 1 else None
                )
                if done is not None:
                    results[n:end] = done
                    n = end
                    continue
            for k in range(n, end):  # one by one: alone, or a run that cannot go together
                results[k] = ops[k].fn(conn, *ops[k].args, **ops[k].kwargs)
            n = end
        for fn, positions in together.items():  # what they return is None: no result to hand out
            if len(positions) == 1:
                fn(conn, *ops[positions[0]].args, **ops[positions[0]].kwargs)
            else:
                _WRITE_MANY[fn](conn, [(ops[n].args, ops[n].kwargs) for n in positions])
        return results


# Writes that a group runs as one executemany: the function of one row -> that of many
# ((args, kwargs) each). They return nothing, and no other write of a batch reads what they write.
_WRITE_MANY: dict[Callable[..., Any], Callable[[Connection, list[Any]], None]] = {
    notifications.record: notifications.record_many,
}


# Writes that a group runs together when they come one after the other, each with its result:
# the function of one -> that of several ((args, kwargs) each), which returns their results in
# order, or None when they cannot go together (then they run one by one).
_RUN_MANY: dict[Callable[..., Any], Callable[[Connection, list[Any]], list[Any] | None]] = {
    succeeded_and_waiting: succeeded_and_waiting_many,
}


# Reads that a group reads at once: the function of one id -> that of a list of ids.
_READ_EACH: dict[Callable[..., Any], Callable[[Connection, list[Any]], list[Any]]] = {
    meldingen.get: meldingen.get_each,
    meldingen.with_delivery: meldingen.with_delivery_each,
    deliveries.due: deliveries.due_each,
}


def _run_reads(conn: Connection, ops: Sequence[GroupedOp]) -> list[Any]:
    """The reads of a group, those of `_READ_EACH` (one id, no options) together per function."""
    results: list[Any] = [None] * len(ops)
    together: dict[Callable[..., Any], list[int]] = {}
    for n, op in enumerate(ops):
        if op.fn in _READ_EACH and len(op.args) == 1 and not op.kwargs:
            together.setdefault(op.fn, []).append(n)
        else:
            results[n] = op.fn(conn, *op.args, **op.kwargs)
    for fn, positions in together.items():
        if len(positions) == 1:  # alone: its own statements, built once, are cheaper
            results[positions[0]] = fn(conn, ops[positions[0]].args[0])
            continue
        found = _READ_EACH[fn](conn, [ops[n].args[0] for n in positions])
        for n, result in zip(positions, found, strict=True):
            results[n] = result
    return results


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


# Turns of the event loop a group of reads on the loop waits for more jobs to join it.
GROUP_LINGER = 3
# A pooled connection idle for less than this is used without a ping first.
PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for a connection that sat idle in the pool for `PING_AFTER_IDLE`
    seconds: a connection given back a moment ago is alive, and a ping per checkout was a round
    trip per store call (a busy worker makes dozens a second). A dead one still fails over: a
    failed ping is a `DisconnectionError`, on which the pool opens a fresh connection."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["gateway_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("gateway_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return  # new (just connected) or just given back
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"connection idle for a while is gone: {exc}") from exc


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
