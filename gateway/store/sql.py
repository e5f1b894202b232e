"""The SQL bits every store module shares: the clock of a row, an upsert-capable INSERT for the
backend at hand, a fast bulk insert, and a row read into a dataclass."""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Dialect, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from gateway import clock

R = TypeVar("R")


def utcnow() -> datetime:
    return clock.now()


def still(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    """`column = value` as a check on a row found by its key, never a way to find rows.

    A plain equality on `meldingen.status` lets PostgreSQL plan by its statistics, and those are
    stale right after a burst (autovacuum analyses a minute later): "no row is `ontvangen`", so it
    walks the status index over the whole backlog, per melding moved, instead of taking the row by
    its primary key. `(...) IS TRUE` has no statistics to misread and is the same test."""
    return (column == value).is_(True)


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


@functools.cache
def _compiled_select(statement: Select[Any], dialect: Dialect) -> tuple[str, list[Any], list[Any]]:
    """The SQL of a statement built once, each positional parameter as (name, its value when the
    caller passes none: a LIMIT's, bind processor), and each column's result processor."""
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:  # an expanding IN is rendered per call: not for this path
        raise ValueError("select_rows takes no statement with expanding parameters")
    binds = [compiled.binds[name] for name in compiled.positiontup or []]
    params = [(b.key, b.value, b.type._cached_bind_processor(dialect)) for b in binds]
    results = [c.type._cached_result_processor(dialect, None) for c in statement.selected_columns]
    return compiled.string, params, results


def select_rows(conn: Connection, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT built once, as tuples. On SQLite the compiled statement goes straight
    to the driver with SQLAlchemy's own bind and result processors applied: a webhook's lookup of
    a row through an index cost several times the query in SQLAlchemy's execution machinery."""
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in conn.execute(statement, params)]
    sql, binds, results = _compiled_select(statement, conn.dialect)
    values = []
    for name, default, proc in binds:
        value = params.get(name, default)
        values.append(proc(value) if proc else value)
    try:
        rows = conn.connection.dbapi_connection.execute(sql, values).fetchall()  # type: ignore[union-attr]
    except sqlite3.Error as exc:  # as SQLAlchemy raises it: the store tells "unavailable" by that
        raise DBAPIError.instance(sql, values, exc, sqlite3.Error) from exc
    if not any(results):
        return rows
    return [tuple(proc(v) if proc else v for v, proc in zip(row, results, strict=True)) for row in rows]


def row_as(cls: type[R], row: Any) -> R:
    """A row as the dataclass whose fields name its columns (the rest of the row is ignored)."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
