"""The reporter directory's table and its access log (README "Desk workplace", gateway/directory.py).

`directory_people` is what `gateway directory import` loads from CSV: one row per person, looked up
by e-mail (lowercased), phone (E.164) or national register number (11 digits), or searched by name
(`name_folded`: lowercase, without accents). `directory_lookups` records every lookup the desk made:
who looked up whom, when; a national register number only ever masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, true, update
from sqlalchemy.engine import Row

from gateway.national_number import NationalRegisterNumber
from gateway.store.schema import directory_lookups, directory_people
from gateway.store.schema import meldingen as meldingen_table
from gateway.store.sql import insert, utcnow

SEARCH_LIMIT = 50  # people a name search returns at most


@dataclass(frozen=True)
class PersonIn:
    """One person as an import gives it, normalised and validated (gateway.directory.read_csv)."""

    name: str
    name_folded: str
    street_address: str | None
    postcode: str | None
    municipality: str | None
    email: str | None
    phone: str | None
    national_register_number: str | None  # 11 digits


@dataclass(frozen=True)
class Person:
    """One person of the directory. `national_number` hides its digits in str() and repr()."""

    id: int
    name: str
    street_address: str | None
    postcode: str | None
    municipality: str | None
    email: str | None
    phone: str | None
    national_number: NationalRegisterNumber | None


@dataclass(frozen=True)
class LookupRecord:
    """One line of the access log: who looked up what (a national number masked), whom it found."""

    operator: str
    melding_reference: str | None
    kind: str
    query: str
    person_id: int | None
    person_name: str | None
    at: datetime | None = None


def _person(row: Row[Any]) -> Person:
    nrn = row.national_register_number
    return Person(
        id=row.id,
        name=row.name,
        street_address=row.street_address,
        postcode=row.postcode,
        municipality=row.municipality,
        email=row.email,
        phone=row.phone,
        national_number=NationalRegisterNumber(nrn) if nrn else None,
    )


@dataclass(frozen=True)
class Imported:
    """What an import did to the directory: people added, changed, already there as they are."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


# Without a national register number a person is known by name, e-mail and phone (normalised as
# stored); with neither e-mail nor phone also by the address: two namesakes stay two people.
_NATURAL_KEY = ("name_folded", "email", "phone")
_ADDRESS_KEY = ("street_address", "postcode")


def _same_person(person: PersonIn) -> Any:
    if person.national_register_number:
        return directory_people.c.national_register_number == person.national_register_number
    key = _NATURAL_KEY + (_ADDRESS_KEY if person.email is None and person.phone is None else ())
    return and_(
        directory_people.c.national_register_number.is_(None),
        *(_equal(directory_people.c[k], getattr(person, k)) for k in key),
    )


def _equal(column: Any, value: object) -> Any:
    """`column IS NOT DISTINCT FROM value`, written so that an index can serve it: PostgreSQL uses
    none for IS NOT DISTINCT FROM, which made every person of an import a scan of the directory."""
    return column.is_(None) if value is None else column == value


def save(conn: Connection, people: list[PersonIn], *, replace: bool) -> Imported:
    """Load people; `replace` empties the directory first (in the same transaction: a failed import
    leaves the old directory). A person known already (by national register number, or else by name,
    e-mail and phone) is updated, never added twice: importing a file again changes nothing."""
    if replace:
        conn.execute(delete(directory_people))
    now = utcnow()
    new = updated = unchanged = 0
    for person in people:
        values = dict(person.__dict__)
        known = conn.execute(select(directory_people).where(_same_person(person)).limit(1)).first()
        if known is None:
            conn.execute(insert(conn, directory_people).values(**values, imported_at=now))
            new += 1
        elif all(getattr(known, k) == v for k, v in values.items()):
            unchanged += 1
        else:
            conn.execute(
                update(directory_people)
                .where(directory_people.c.id == known.id)
                .values(**values, imported_at=now)
            )
            updated += 1
    return Imported(new, updated, unchanged)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(directory_people)).scalar_one())


def _people(conn: Connection, condition: Any, limit: int = SEARCH_LIMIT) -> list[Person]:
    rows = conn.execute(
        select(directory_people)
        .where(condition)
        .order_by(directory_people.c.name, directory_people.c.id)
        .limit(limit)
    )
    return [_person(r) for r in rows]


def _keyed(conn: Connection, column: Any, keys: list[str]) -> dict[str, list[Person]]:
    found: dict[str, list[Person]] = {}
    if not keys:
        return found
    query = (
        select(directory_people)
        .where(column.in_(keys))
        .order_by(directory_people.c.name, directory_people.c.id)
    )
    for row in conn.execute(query):
        found.setdefault(getattr(row, column.key), []).append(_person(row))
    return found


def by_emails(conn: Connection, emails: list[str]) -> dict[str, list[Person]]:
    """People by e-mail (given lowercased, as stored), keyed by it."""
    return _keyed(conn, directory_people.c.email, emails)


def by_phones(conn: Connection, phones: list[str]) -> dict[str, list[Person]]:
    """People by phone (given in E.164, as stored), keyed by it."""
    return _keyed(conn, directory_people.c.phone, phones)


def by_national_numbers(conn: Connection, numbers: list[str]) -> dict[str, list[Person]]:
    return _keyed(conn, directory_people.c.national_register_number, numbers)


def by_name(conn: Connection, words: list[str], limit: int = SEARCH_LIMIT) -> list[Person]:
    """Every word (folded) somewhere in the name: "jan peeters" finds "Peeters, Jan"."""
    if not words:
        return []
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    condition = and_(*(directory_people.c.name_folded.like(f"%{w}%", escape="\\") for w in escaped))
    return _people(conn, condition, limit)


def melding_national_number(conn: Connection, melding_id: str) -> str | None:
    """The national register number a portal intake linked to a melding (read for a lookup only)."""
    return conn.execute(
        select(meldingen_table.c.national_register_number).where(meldingen_table.c.id == melding_id)
    ).scalar_one_or_none()


def record(conn: Connection, lookups: list[LookupRecord]) -> None:
    if not lookups:
        return
    now = utcnow()
    rows = [{**lookup.__dict__, "at": lookup.at or now} for lookup in lookups]
    conn.execute(directory_lookups.insert(), rows)


def lookups(
    conn: Connection, offset: int, limit: int, operator: str | None = None
) -> tuple[list[LookupRecord], int]:
    """The access log, newest first (ix_directory_lookups_at), optionally of one operator."""
    condition = true() if operator is None else directory_lookups.c.operator == operator
    rows = conn.execute(
        select(directory_lookups)
        .where(condition)
        .order_by(directory_lookups.c.at.desc(), directory_lookups.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(directory_lookups).where(condition)).scalar_one()
    found = [
        LookupRecord(r.operator, r.melding_reference, r.kind, r.query, r.person_id, r.person_name, at=r.at)
        for r in rows
    ]
    return found, int(total)
