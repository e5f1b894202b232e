"""The desk's overview (/desk/overview, issue 15 item 8): counts and durations as SQL aggregates.

Every figure is one GROUP BY (or a count) in the database, never a loop over rows in Python, so the
page costs the same few queries at 100,000 meldingen as at 100. What the two backends do differently
is here and nowhere else:
- days, weeks (Monday) and months are those of the desk's time zone. PostgreSQL converts with
  `timezone(zone, received_at)`; SQLite has no time zones, so the zone's UTC offset is given as a
  `CASE` over the period's daylight-saving changes (`_local_offset`), exact for every instant;
- a duration in seconds: `extract(epoch from ...)` against `julianday` differences;
- a median without a median function (SQLite has none): the middle one or two values of the sorted
  durations (`ORDER BY ... LIMIT ... OFFSET`), the same SQL on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, func, literal, select
from sqlalchemy.sql import ColumnElement

from gateway.melding import CLOSED_STATUSES, Stage, Status
from gateway.store.duplicates import list_hotspots
from gateway.store.schema import meldingen, status_history

Unit = Literal["day", "week", "month"]
By = Literal["channel", "dienst"]

UNKNOWN = "onbekend"  # a melding without dienst, or whose place names no deelgemeente
INFO = "info"  # the dienst whose questions are clustered ("the same question many times")

# Open meldingen by age: (label, at least this old). The last bucket has no upper bound.
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 1 dag", timedelta(0)),
    ("1-7 dagen", timedelta(days=1)),
    ("7-30 dagen", timedelta(days=7)),
    ("> 30 dagen", timedelta(days=30)),
)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the zone whose days, weeks and months the counts use."""

    start: datetime
    end: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class Median:
    """The median of the seconds from intake to a status's first arrival, over `count` meldingen."""

    seconds: float | None
    count: int


def _in(period: Period) -> ColumnElement[bool]:
    return and_(meldingen.c.received_at >= period.start, meldingen.c.received_at < period.end)


def _transitions(period: Period) -> list[tuple[datetime, int]]:
    """(from this UTC instant on, the zone's offset in seconds) over the period, first from its start.
    Walked by day, then by hour inside a day whose offset changes: a year has two changes."""
    spans = [(period.start, _offset(period.start, period.zone))]
    day = period.start
    while day < period.end:
        following = min(day + timedelta(days=1), period.end)
        if _offset(following, period.zone) != spans[-1][1]:
            hour = day
            while _offset(hour, period.zone) == spans[-1][1]:
                hour += timedelta(hours=1)
            spans.append((hour, _offset(hour, period.zone)))
        day = following
    return spans


def _offset(moment: datetime, zone: ZoneInfo) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def _local_offset(period: Period) -> ColumnElement[Any]:
    """SQLite: the modifier ('+3600 seconds') that makes received_at local time, per instant."""
    spans = _transitions(period)
    modifiers = [f"{seconds:+d} seconds" for _at, seconds in spans]
    if len(spans) == 1:
        return literal(modifiers[0])
    whens = [(meldingen.c.received_at < spans[n + 1][0], modifiers[n]) for n in range(len(spans) - 1)]
    return case(*whens, else_=modifiers[-1])


def bucket(conn: Connection, period: Period, unit: Unit) -> ColumnElement[str]:
    """received_at as the local 'YYYY-MM-DD' of its day, its week's Monday or its month's first."""
    if conn.dialect.name == "postgresql":
        local = func.timezone(period.zone.key, meldingen.c.received_at)
        return func.to_char(func.date_trunc(unit, local), "YYYY-MM-DD")
    offset = _local_offset(period)
    if unit == "day":
        return func.date(meldingen.c.received_at, offset)
    if unit == "week":  # back six days, then forward to a Monday: the week's Monday
        return func.date(meldingen.c.received_at, offset, "-6 days", "weekday 1")
    return func.strftime("%Y-%m-01", meldingen.c.received_at, offset)


def _seconds(
    conn: Connection, later: ColumnElement[Any], earlier: ColumnElement[Any]
) -> ColumnElement[float]:
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def counts(conn: Connection, period: Period, unit: Unit, by: By) -> list[tuple[str, str, int]]:
    """(bucket, channel or dienst, meldingen received) for each pair that has any."""
    when = bucket(conn, period, unit).label("bucket")
    key = func.coalesce(meldingen.c[by], UNKNOWN).label("key")
    query = (
        select(when, key, func.count().label("n")).where(_in(period)).group_by(when, key).order_by(when, key)
    )
    return [(str(r.bucket), str(r.key), int(r.n)) for r in conn.execute(query)]


@dataclass(frozen=True)
class Summary:
    """The period's totals: meldingen, answered at once by the desk, duplicates."""

    total: int
    answered_at_once: int  # stage "answered": settled at the desk, never sent to a dienst
    duplicates: int  # linked to an earlier report of the same problem (duplicate_of)


def summary(conn: Connection, period: Period) -> Summary:
    answered = func.sum(case((meldingen.c.stage == Stage.ANSWERED.value, 1), else_=0))
    duplicates = func.sum(case((meldingen.c.duplicate_of.is_not(None), 1), else_=0))
    row = conn.execute(select(func.count(), answered, duplicates).where(_in(period))).one()
    return Summary(total=int(row[0]), answered_at_once=int(row[1] or 0), duplicates=int(row[2] or 0))


def _is_open() -> ColumnElement[bool]:
    closed = [s.value for s in CLOSED_STATUSES]
    return and_(meldingen.c.status.not_in(closed), meldingen.c.stage != Stage.ANSWERED.value)


def open_by_age(conn: Connection, now: datetime) -> list[tuple[str, str, int]]:
    """(dienst, age bucket, meldingen) of what is open now (not Beantwoord, Behandeld or Niet
    behandeld), whenever it came in; the age counts from intake."""
    whens = [
        (meldingen.c.received_at > now - AGE_BUCKETS[n + 1][1], label)
        for n, (label, _) in enumerate(AGE_BUCKETS[:-1])
    ]
    age = case(*whens, else_=AGE_BUCKETS[-1][0]).label("age")
    dienst = func.coalesce(meldingen.c.dienst, UNKNOWN).label("dienst")
    query = select(dienst, age, func.count().label("n")).where(_is_open()).group_by(dienst, age)
    order = {label: n for n, (label, _) in enumerate(AGE_BUCKETS)}
    rows = [(str(r.dienst), str(r.age), int(r.n)) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (r[0], order[r[1]]))


def median_to(conn: Connection, period: Period, status: Status) -> Median:
    """Median seconds from received_at to the first time the history reached `status`, over the
    period's meldingen that reached it. The first time is a subquery per melding through the
    history's melding_id index: a join grouped by melding read the whole history (3-4x slower)."""
    first = (
        select(func.min(status_history.c.at))
        .where(status_history.c.melding_id == meldingen.c.id, status_history.c.status == status.value)
        .scalar_subquery()
    )
    took = select(_seconds(conn, first, meldingen.c.received_at).label("took")).where(_in(period)).subquery()
    durations = select(took.c.took).where(took.c.took.is_not(None)).subquery()  # never reached: left out
    count = int(conn.execute(select(func.count()).select_from(durations)).scalar_one())
    if count == 0:
        return Median(None, 0)
    middle = select(durations.c.took).order_by(durations.c.took).offset((count - 1) // 2)
    values = [float(v) for v in conn.execute(middle.limit(2 - count % 2)).scalars()]
    return Median(sum(values) / len(values), count)


def by_deelgemeente(conn: Connection, period: Period) -> list[tuple[str, int]]:
    """(deelgemeente, meldingen), most first: the deelgemeente the locator found (gateway/dedupe/
    locate.py: named in the text, or the register's for the street found), else "onbekend"."""
    name = func.coalesce(meldingen.c.located["deelgemeente"].as_string(), UNKNOWN).label("name")
    query = select(name, func.count().label("n")).where(_in(period)).group_by(name)
    return sorted(((str(r.name), int(r.n)) for r in conn.execute(query)), key=lambda r: (-r[1], r[0]))


@dataclass(frozen=True)
class Question:
    id: str
    reference: str
    received_at: datetime
    text: str


def info_questions(conn: Connection, period: Period, limit: int) -> list[Question]:
    """The period's questions for the info dienst, the latest `limit`, oldest of those first
    (what the clustering reads: a bounded read, not an aggregate)."""
    query = (
        select(
            meldingen.c.id,
            meldingen.c.reference,
            meldingen.c.received_at,
            meldingen.c.subject,
            meldingen.c.text,
        )
        .where(_in(period), meldingen.c.dienst == INFO)
        .order_by(meldingen.c.received_at.desc(), meldingen.c.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(query))
    found = [
        Question(r.id, r.reference, r.received_at, " ".join(filter(None, (r.subject, r.text)))) for r in rows
    ]
    return found[::-1]


@dataclass(frozen=True)
class Figures:
    """Everything the overview shows, read in one transaction (one consistent snapshot)."""

    per_day: dict[By, list[tuple[str, str, int]]]
    per_week: dict[By, list[tuple[str, str, int]]]
    seasonal: list[tuple[str, str, int]]  # (month, dienst, meldingen) over the past year
    summary: Summary
    open_by_age: list[tuple[str, str, int]]
    to_registered: Median
    to_handled: Median
    deelgemeenten: list[tuple[str, int]]
    hotspots: list[dict[str, Any]]
    questions: list[Question]


def gather(conn: Connection, period: Period, year: Period, question_limit: int) -> Figures:
    return Figures(
        per_day={by: counts(conn, period, "day", by) for by in ("channel", "dienst")},
        per_week={by: counts(conn, period, "week", by) for by in ("channel", "dienst")},
        seasonal=counts(conn, year, "month", "dienst"),
        summary=summary(conn, period),
        open_by_age=open_by_age(conn, period.end),
        to_registered=median_to(conn, period, Status.GEREGISTREERD),
        to_handled=median_to(conn, period, Status.BEHANDELD),
        deelgemeenten=by_deelgemeente(conn, period),
        hotspots=list_hotspots(conn, since=period.start),
        questions=info_questions(conn, period, question_limit),
    )
