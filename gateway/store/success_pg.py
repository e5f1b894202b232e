"""A delivery's success with its melding's first status, on PostgreSQL, in one statement.

`deliveries.succeeded_change` marks the delivery delivered, logs the attempt, moves the melding
from `ontvangen` to its first status (with the stage) and appends that status to the history:
four statements, each a round trip to PostgreSQL, for every melding the worker delivers. Here they
are one statement of data-modifying CTEs. Its parts all read the snapshot from before it (so the
attempt's number counts the attempts logged before, as the separate INSERT did); the history row
is written only when the guarded UPDATE moved the melding. SQLite has no DML in a WITH clause and
no round trips: it keeps the four statements.

The successes a group commit runs one after the other (the worker's jobs of a batch) go together
as one statement (`succeeded_many`: the same CTEs over unnested arrays, a row a success, each of
another melding), each with what it alone would return.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    Connection,
    bindparam,
    column,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.sql import visitors

from gateway.melding import DeliveryState, Stage, Status, StatusChange, can_transition
from gateway.store import attempts
from gateway.store.history import InvalidTransition, set_stage
from gateway.store.schema import deliveries, delivery_attempts, meldingen, status_history
from gateway.store.sql import still, utcnow

SOURCE = "worker"  # the history source of a first status set by a delivery's success


def in_one_statement(
    conn: Connection,
    stage: Stage | None,
    first_status: Status | None,
    attempt: attempts.Attempt | None,
    melding_id: str | None,
) -> bool:
    """Whether a success with these arguments is `succeeded_first_status`'s (the worker's case)."""
    return (
        conn.dialect.name == "postgresql"
        and first_status not in (None, Status.ONTVANGEN)
        and stage is not None
        and attempt is not None
        and melding_id is not None
    )


def succeeded_first_status(
    conn: Connection,
    delivery_id: int,
    melding_id: str,
    *,
    case_id: str | None,
    stage: Stage,
    first_status: Status,
    attempt: attempts.Attempt,
    also: Any = None,
    also_params: dict[str, Any] | None = None,
) -> tuple[tuple[int, StatusChange] | None, list[Row[Any]]]:
    """What `deliveries.succeeded_change` does with a first status and an attempt: the history id
    and the change, or None when the melding had moved on from `ontvangen` (then only its stage
    is set, as `history.first_status` does). `also`: a SELECT (built once; its parameters in
    `also_params`) whose rows come back from the same statement, read in the snapshot from before
    it (the extra reporters' updates waiting for this case): its rows, else []."""
    if not can_transition(Status.ONTVANGEN, first_status):
        raise InvalidTransition(Status.ONTVANGEN, first_status)
    now = utcnow()
    logged = attempts.bind_values(delivery_id, attempt)
    params: dict[str, Any] = {
        "s_delivery_id": delivery_id,
        "s_delivered": DeliveryState.DELIVERED.value,
        "s_case_id": case_id,
        "s_melding_id": melding_id,
        "s_current": Status.ONTVANGEN.value,
        "s_status": first_status.value,
        "s_stage": stage.value,
        "s_source": SOURCE,
        "s_now": now,
        **{f"a_{k}": v for k, v in logged.items() if k != "owner_id"},
    }
    if also is None:
        history_id, rows = conn.execute(_statement(), params).scalar_one_or_none(), []
    else:
        found = list(conn.execute(_statement_with(also), {**params, **(also_params or {})}))
        history_id = found[0].s_history_id
        rows = [r for r in found if r.id is not None]  # none: the one row of the outer join
    if history_id is not None:
        return (int(history_id), StatusChange(status=first_status, at=now, source=SOURCE)), rows
    set_stage(conn, melding_id, stage)
    return None, rows


def _at(name: str) -> Any:
    return bindparam(name, type_=deliveries.c.updated_at.type)


def _parts() -> tuple[tuple[Any, ...], Any]:
    """The CTEs and the history INSERT. The parameters are prefixed: one named as a column would
    also be SET by an UPDATE in the statement."""
    d, a = deliveries, delivery_attempts
    delivered = (
        update(d)
        .where(d.c.id == bindparam("s_delivery_id"))
        .values(
            state=bindparam("s_delivered"),
            attempts=d.c.attempts + 1,
            last_error=None,
            case_id=bindparam("s_case_id"),
            next_attempt_at=None,
            updated_at=_at("s_now"),
            delivered_at=_at("s_now"),
        )
        .returning(d.c.id)
        .cte("delivered")
    )
    previous = select(func.count()).where(a.c.delivery_id == bindparam("s_delivery_id")).scalar_subquery()
    logged = (
        insert(a)
        .values(
            delivery_id=bindparam("s_delivery_id"),
            melding_id=bindparam("s_melding_id"),
            attempt=previous + 1,
            started_at=bindparam("a_started_at", type_=a.c.started_at.type),
            finished_at=bindparam("a_finished_at", type_=a.c.finished_at.type),
            outcome=bindparam("a_outcome"),
            http_status=bindparam("a_http_status"),
            error=bindparam("a_error"),
            case_id=bindparam("a_case_id"),
        )
        .returning(a.c.id)
        .cte("logged")
    )
    moved = (
        update(meldingen)
        .where(meldingen.c.id == bindparam("s_melding_id"), still(meldingen.c.status, bindparam("s_current")))
        .values(status=bindparam("s_status"), stage=bindparam("s_stage"), updated_at=_at("s_now"))
        .returning(meldingen.c.id)
        .cte("moved")
    )
    entry = select(
        moved.c.id,
        bindparam("s_status", type_=status_history.c.status.type),
        bindparam("s_source", type_=status_history.c.source.type),
        _at("s_now"),
    )
    columns = ["melding_id", "status", "source", "at"]
    return (delivered, logged, moved), insert(status_history).from_select(columns, entry).returning(
        status_history.c.id
    )


@functools.cache
def _statement() -> Any:
    """Built once: the worker's hot path (SQLAlchemy memoizes a statement's cache key)."""
    ctes, entry = _parts()
    return entry.add_cte(*ctes)


@functools.cache
def _statement_with(also: Any) -> Any:
    """`_statement` with the rows of `also` beside its history id: (SELECT 1) LEFT JOIN `also`, so
    that the one row comes back when `also` finds none."""
    ctes, entry = _parts()
    written = entry.cte("entry")
    history_id = select(written.c.id).scalar_subquery().label("s_history_id")
    rows = also.subquery("also")
    one = select(literal(1).label("one")).subquery("one")
    return select(history_id, rows).select_from(one.outerjoin(rows, true())).add_cte(*ctes, written)


# -- a batch's successes in one statement -----------------------------------------------------

# The per-row values of `succeeded_many`, as arrays unnested side by side: (name, column).
_ROW = (
    ("delivery_id", deliveries.c.id),
    ("melding_id", meldingen.c.id),
    ("case_id", deliveries.c.case_id),
    ("now", deliveries.c.updated_at),
    ("started_at", delivery_attempts.c.started_at),
    ("finished_at", delivery_attempts.c.finished_at),
    ("outcome", delivery_attempts.c.outcome),
    ("http_status", delivery_attempts.c.http_status),
    ("error", delivery_attempts.c.error),
    ("a_case_id", delivery_attempts.c.case_id),
)


def succeeded_many(
    conn: Connection,
    successes: list[tuple[int, str, str | None, attempts.Attempt]],
    *,
    stage: Stage,
    first_status: Status,
    also: Any,
    also_params: Any,
) -> list[tuple[tuple[int, StatusChange] | None, list[Row[Any]]]]:
    """`succeeded_first_status` of several deliveries (delivery id, melding id, case id, attempt),
    each of another melding, in one statement instead of one each: what each alone returns, in
    order. `also` as there; `also_params(melding_id)` its parameters, in which the melding's id
    is `master_id` and `pattern` the LIKE pattern (the statement derives both from each row)."""
    if not can_transition(Status.ONTVANGEN, first_status):
        raise InvalidTransition(Status.ONTVANGEN, first_status)
    if len({m for _, m, _, _ in successes}) != len(successes):
        raise ValueError("succeeded_many: one success a melding")  # each reads its own snapshot
    rows: dict[str, list[Any]] = {name: [] for name, _ in _ROW}
    for delivery_id, melding_id, case_id, attempt in successes:
        logged = attempts.bind_values(delivery_id, attempt)
        for name, value in (
            ("delivery_id", delivery_id),
            ("melding_id", melding_id),
            ("case_id", case_id),
            ("now", utcnow()),
            ("a_case_id", logged["case_id"]),
            *((k, logged[k]) for k in ("started_at", "finished_at", "outcome", "http_status", "error")),
        ):
            rows[name].append(value)
    sample = also_params("{melding}")  # the pattern around a melding's id: prefix + id + suffix
    prefix, _, suffix = sample["pattern"].partition("{melding}")
    params = {
        **{f"v_{name}": values for name, values in rows.items()},
        "s_delivered": DeliveryState.DELIVERED.value,
        "s_current": Status.ONTVANGEN.value,
        "s_status": first_status.value,
        "s_stage": stage.value,
        "s_source": SOURCE,
        "s_prefix": prefix,
        "s_suffix": suffix,
        **{k: v for k, v in sample.items() if k not in ("master_id", "pattern")},
    }
    found: dict[int, list[Row[Any]]] = {}
    history: dict[int, int | None] = {}
    for row in conn.execute(_many_statement(also), params):
        history[row.s_n] = row.s_history_id
        found.setdefault(row.s_n, [])
        if row.id is not None:
            found[row.s_n].append(row)
    out: list[tuple[tuple[int, StatusChange] | None, list[Row[Any]]]] = []
    for n, (_, melding_id, _, _) in enumerate(successes, start=1):
        history_id = history[n]
        if history_id is None:
            set_stage(conn, melding_id, stage)
            out.append((None, found[n]))
        else:
            change = StatusChange(status=first_status, at=rows["now"][n - 1], source=SOURCE)
            out.append(((int(history_id), change), found[n]))
    return out


@functools.cache
def _many_statement(also: Any) -> Any:
    """`_statement_with` over the rows of unnested arrays (the CTE `v`, `s_n` a row's place from
    1): each part joins the row it is of, and each row's `also` is a LATERAL subquery with the
    row's melding as its `master_id` and in its `pattern`."""
    d, a = deliveries, delivery_attempts
    arrays = [bindparam(f"v_{name}", type_=ARRAY(col.type)) for name, col in _ROW]
    unnested = (
        func.unnest(*arrays)
        .table_valued(*(column(name, col.type) for name, col in _ROW), with_ordinality="s_n")
        .render_derived(name="unnested", with_types=False)
    )
    v = select(unnested).cte("v")
    delivered = (
        update(d)
        .where(d.c.id == v.c.delivery_id)
        .values(
            state=bindparam("s_delivered"),
            attempts=d.c.attempts + 1,
            last_error=None,
            case_id=v.c.case_id,
            next_attempt_at=None,
            updated_at=v.c.now,
            delivered_at=v.c.now,
        )
        .returning(d.c.id)
        .cte("delivered")
    )
    previous = select(func.count()).where(a.c.delivery_id == v.c.delivery_id).scalar_subquery()
    logged_rows = select(
        v.c.melding_id,
        v.c.delivery_id,
        previous + 1,
        v.c.started_at,
        v.c.finished_at,
        v.c.outcome,
        v.c.http_status,
        v.c.error,
        v.c.a_case_id,
    ).order_by(v.c.s_n)  # attempt ids in the batch's order, as one statement each gave them
    columns = ["melding_id", "delivery_id", "attempt", "started_at", "finished_at", "outcome", "http_status"]
    logged = (
        insert(a).from_select([*columns, "error", "case_id"], logged_rows).returning(a.c.id).cte("logged")
    )
    moved = (
        update(meldingen)
        .where(meldingen.c.id == v.c.melding_id, still(meldingen.c.status, bindparam("s_current")))
        .values(status=bindparam("s_status"), stage=bindparam("s_stage"), updated_at=v.c.now)
        .returning(meldingen.c.id)
        .cte("moved")
    )
    entry_rows = (
        select(
            moved.c.id,
            bindparam("s_status", type_=status_history.c.status.type),
            bindparam("s_source", type_=status_history.c.source.type),
            v.c.now,
        )
        .join_from(moved, v, v.c.melding_id == moved.c.id)
        .order_by(v.c.s_n)  # history ids in the batch's order too
    )
    written = (
        insert(status_history)
        .from_select(["melding_id", "status", "source", "at"], entry_rows)
        .returning(status_history.c.id, status_history.c.melding_id)
        .cte("entry")
    )
    text_type = meldingen.c.id.type
    pattern = (
        bindparam("s_prefix", type_=text_type)
        .concat(v.c.melding_id)
        .concat(bindparam("s_suffix", type_=text_type))
    )

    def per_row(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in ("master_id", "pattern"):
            return v.c.melding_id if element.key == "master_id" else pattern
        return None

    rows = visitors.replacement_traverse(also, {}, per_row).lateral("also")
    return (
        select(v.c.s_n, written.c.id.label("s_history_id"), rows)
        .select_from(v.outerjoin(written, written.c.melding_id == v.c.melding_id).outerjoin(rows, true()))
        .add_cte(delivered, logged, moved, written)
        .order_by(v.c.s_n)
    )
