"""The SQL bits every store module shares: the clock of a row, an upsert-capable INSERT for the
backend at hand, a fast bulk insert, and a row read into a dataclass."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite

from gateway import clock

R = TypeVar("R")


def utcnow() -> datetime:
    return clock.now()


def insert(conn: Connection, table: Table) -> Any:
    """INSERT with the dialect's `on_conflict_do_nothing` / `on_conflict_do_update`."""
    return dialect_insert(table, conn.dialect.name)


def dialect_insert(table: Table, dialect: str) -> Any:
    """`insert` by the dialect's name: for statements built once per dialect (functools.cache)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@functools.cache
def _compiled_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, list[Any]]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup or []
    return compiled.string, [(name, table.c[name].type._cached_bind_processor(dialect)) for name in order]


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert. On SQLite the compiled statement goes straight to the driver's
    executemany, with SQLAlchemy's own bind processors applied: the same rows, a
    fraction of the per-row Python work on the intake hot path."""
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    sql, params = _compiled_insert(table, tuple(rows[0]), conn.dialect)
    values = [tuple(proc(row[name]) if proc else row[name] for name, proc in params) for row in rows]
    conn.exec_driver_sql(sql, values)


def row_as(cls: type[R], row: Any) -> R:
    """A row as the dataclass whose fields name its columns (the rest of the row is ignored)."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
