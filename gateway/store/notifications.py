"""Notification decisions: per status change and channel, what was done about telling the
reporter (sent, skipped and why, retrying, failed), and the status changes still undecided."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from gateway.melding import Melding, StatusChange
from gateway.store.history import entry
from gateway.store.meldingen import get
from gateway.store.schema import notifications, status_history
from gateway.store.sql import dialect_insert, utcnow

RETRYING = "retrying"  # a decision not settled yet: the job runs again (sent, skipped, failed are)


def record(
    conn: Connection,
    melding_id: str,
    history_id: int,
    channel: str,
    *,
    recipient: str | None,
    state: str,
    detail: str,
) -> None:
    """One decision per (status change, channel); a later one replaces it (a retry that succeeded)."""
    values = _row(melding_id, history_id, channel, recipient=recipient, state=state, detail=detail)
    conn.execute(_upsert(conn.dialect.name), {**values, "created_at": utcnow()})


def _row(
    melding_id: str, history_id: int, channel: str, *, recipient: str | None, state: str, detail: str
) -> dict[str, Any]:
    return {
        "melding_id": melding_id,
        "history_id": history_id,
        "channel": channel,
        "recipient": recipient,
        "state": state,
        "detail": detail,
    }


def record_many(conn: Connection, decisions: Sequence[tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
    """Many `record` calls ((args, kwargs) after the connection) as one executemany: a worker's
    batch of jobs records a decision each, and a statement each cost a round trip on PostgreSQL.
    Sorted by (status change, channel), so that two batches lock the rows they share in one order."""
    at = utcnow()
    latest = {}  # a second decision on one (change, channel) replaces the first, as it would alone
    for args, kwargs in decisions:
        row = _row(*args, **kwargs)  # as `record` takes them
        latest[row["history_id"], row["channel"]] = row
    rows = [{**latest[key], "created_at": at} for key in sorted(latest)]
    conn.execute(_upsert(conn.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Any:
    """Built once (every status change records one or more decisions): the row's own values
    replace state, detail and recipient of a decision recorded before."""
    ins = dialect_insert(notifications, dialect)
    return ins.on_conflict_do_update(
        index_elements=["history_id", "channel"],
        set_={name: ins.excluded[name] for name in ("state", "detail", "recipient")},
    )


def state_of(conn: Connection, history_id: int, channel: str) -> str | None:
    return conn.execute(
        select(notifications.c.state).where(
            notifications.c.history_id == history_id, notifications.c.channel == channel
        )
    ).scalar_one_or_none()


def states_of(conn: Connection, history_id: int) -> dict[str, str]:
    """What was decided per channel for one status change (sent, skipped, retrying, failed)."""
    rows = conn.execute(_states_of(), {"history_id": history_id})
    return {r.channel: r.state for r in rows}


@functools.cache
def _states_of() -> Any:
    return select(notifications.c.channel, notifications.c.state).where(
        notifications.c.history_id == bindparam("history_id")
    )


@dataclass(frozen=True)
class ToNotify:
    """What the notify job decides on: the melding, the status change, what was decided before."""

    melding: Melding
    change: StatusChange
    decided: dict[str, str]  # channel -> state


def to_notify(conn: Connection, melding_id: str, history_id: int) -> ToNotify | None:
    """The notify job's one read; None when the melding or the change is gone."""
    melding = get(conn, melding_id)
    change = entry(conn, history_id)
    if melding is None or change is None:
        return None
    return ToNotify(melding, change, states_of(conn, history_id))


def unnotified(conn: Connection, before: datetime, limit: int = 1000) -> list[tuple[str, int]]:
    """Status changes (after intake) whose notification job the sweep must queue (again): those
    with no decision recorded yet, and those with a channel still 'retrying' since before
    `before` (its job was lost with Redis). Settled ones (sent, skipped, failed) are left alone;
    re-queueing is harmless (one job id per change; the job skips what was sent).

    EXISTS, not a join: a change with two channels waiting comes back once."""
    decided = select(notifications.c.id).where(notifications.c.history_id == status_history.c.id)
    waiting = decided.where(notifications.c.state == RETRYING, notifications.c.created_at < before)
    rows = conn.execute(
        select(status_history.c.melding_id, status_history.c.id)
        .where(
            or_(~decided.exists(), waiting.exists()),
            status_history.c.source != "intake",
            status_history.c.at < before,
        )
        .order_by(status_history.c.id)
        .limit(limit)
    )
    return [(r.melding_id, r.id) for r in rows]
