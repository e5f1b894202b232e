"""The `Store`: lifecycle, and how each store operation is run.

Every operation is one synchronous function over a `Connection`, found in the module of what it
stores (`gateway.store.meldingen`, `.deliveries`, `.sms`, ...), and run by the caller through
`store.read(op, ...)`, `store.lookup(op, ...)` or `store.write(op, ...)` in one transaction and
in one hop:
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
import functools
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.melding import Attachment, MeldingDraft
from gateway.store import migrate
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
            # A connect timeout well under a client's patience: an unreachable server answers 503
            # in seconds instead of holding every request for asyncpg's default minute.
            # A store that need not wait for the disk says so once per connection, not with a
            # SET LOCAL round trip in every write transaction.
            connect_args: dict[str, Any] = {"timeout": 5}
            if not durable:
                connect_args["server_settings"] = {"synchronous_commit": "off"}
            self._async = create_async_engine(
                target, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args
            )
        # SQLite has one writer anyway; PostgreSQL overlaps the round trips of a few batches.
        self._writer: BatchWriter[IntakeItem, StoredIntake] = BatchWriter(
            self._write_intake_batch, concurrency=1 if self._sqlite is not None else 4
        )

    @property
    def dialect(self) -> str:
        return "sqlite" if self._sqlite is not None else "postgresql"

    # -- running operations ----------------------------------------------------------------------

    @_unavailable_as_typed
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(connection, *args, **kwargs)` in a read transaction."""
        if self._sqlite is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._read_threads, self._sqlite_run, False, fn, args, kwargs
            )
        assert self._async is not None
        async with self._async.connect() as conn:
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
