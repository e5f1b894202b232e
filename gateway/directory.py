"""Who is calling: the reporter directory (README "Desk workplace", issue 15 item 6).

`Directory` is the interface: look a person up by e-mail, phone (E.164), national register number,
or search by name. The city may plug in its population register (set `app[DIRECTORY]` of
gateway.http.desk_pages); the default, `StoreDirectory`, reads the table `directory_people` that
`gateway directory import FILE.csv` loads (`read_csv`: CSV with a header row, one error per bad line).

Whatever the implementation, the desk looks people up through `identify`, which records every lookup
in `directory_lookups`: the operator, when, what was looked up, whom it found. A national register
number is only ever masked there and on a page (`NationalRegisterNumber.masked`).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.national_number import InvalidNationalNumber, NationalRegisterNumber
from gateway.phonenumber import e164
from gateway.store import Store
from gateway.store import directory as people
from gateway.store.directory import LookupRecord, Person, PersonIn

__all__ = ["COLUMNS", "Directory", "Found", "LineError", "Person", "Reporter", "StoreDirectory"]

COLUMNS = ("name", "street_address", "postcode", "municipality", "email", "phone", "national_register_number")
_MAX = {"name": 200, "street_address": 200, "postcode": 16, "municipality": 100, "email": 254}


class Directory(Protocol):
    """Where the desk finds who a reporter is. The lookups take many keys at once (a search page
    looks up 25 reporters in one go) and answer, per key found, the matching people."""

    async def by_emails(self, emails: Collection[str]) -> dict[str, list[Person]]:
        """Keyed by the e-mail address lowercased."""
        ...

    async def by_phones(self, phones: Collection[str]) -> dict[str, list[Person]]:
        """Keyed by the number in E.164."""
        ...

    async def by_national_numbers(
        self, numbers: Collection[NationalRegisterNumber]
    ) -> dict[str, list[Person]]:
        """Keyed by the number's 11 digits."""
        ...

    async def search(self, name: str) -> list[Person]: ...


def fold(text: str) -> str:
    """Lowercase, accents off, spaces collapsed: "Geneviève  Dubois" -> "genevieve dubois"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


class StoreDirectory:
    """The default directory: the table `directory_people` in the gateway's own store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def by_emails(self, emails: Collection[str]) -> dict[str, list[Person]]:
        return await self._store.read(people.by_emails, sorted({e.strip().lower() for e in emails}))

    async def by_phones(self, phones: Collection[str]) -> dict[str, list[Person]]:
        return await self._store.read(people.by_phones, sorted({e164(p) for p in phones}))

    async def by_national_numbers(
        self, numbers: Collection[NationalRegisterNumber]
    ) -> dict[str, list[Person]]:
        return await self._store.read(people.by_national_numbers, sorted({n.digits for n in numbers}))

    async def search(self, name: str) -> list[Person]:
        return await self._store.read(people.by_name, fold(name).split())


# -- the desk's lookups, each recorded -------------------------------------------------------------


@dataclass(frozen=True)
class Reporter:
    """What a melding tells of its reporter, to look them up by."""

    reference: str
    email: str | None = None
    phone: str | None = None
    national_number: NationalRegisterNumber | None = field(default=None, repr=False)
    caller: bool = False  # a phone melding: its number is the caller-ID of the call


@dataclass(frozen=True)
class Found:
    """A person the directory knows for a reporter, and by what they matched."""

    person: Person
    matched_by: tuple[str, ...]


def _keys(reporter: Reporter) -> list[tuple[str, str, str]]:
    """(kind, what the log shows, the key the directory answers by) of each thing to look up."""
    keys: list[tuple[str, str, str]] = []
    if reporter.email:  # what the log shows is cut to its column (an API e-mail may have 320 characters)
        keys.append(("email", reporter.email[:254], reporter.email.strip().lower()))
    if reporter.phone:
        keys.append(("caller_id" if reporter.caller else "phone", reporter.phone[:254], e164(reporter.phone)))
    if reporter.national_number is not None:
        number = reporter.national_number
        keys.append(("national_number", number.masked(), number.digits))
    return keys


async def identify(
    directory: Directory, store: Store, operator: str, reporters: Iterable[Reporter]
) -> dict[str, list[Found]]:
    """Who each reporter is (by melding reference): one directory call per kind of key for them
    all, and every lookup recorded in one write."""
    reporters = list(reporters)
    emails = {r.email for r in reporters if r.email}
    phones = {r.phone for r in reporters if r.phone}
    numbers = {r.national_number for r in reporters if r.national_number is not None}
    answers = {
        "email": await directory.by_emails(emails) if emails else {},
        "phone": await directory.by_phones(phones) if phones else {},
        "national_number": await directory.by_national_numbers(numbers) if numbers else {},
    }
    answers["caller_id"] = answers["phone"]
    found: dict[str, list[Found]] = {}
    log: list[LookupRecord] = []
    for reporter in reporters:
        matches: dict[int, Found] = {}
        for kind, shown, key in _keys(reporter):
            result = answers[kind].get(key, [])
            for person in result:
                before = matches.get(person.id)
                matches[person.id] = Found(person, (before.matched_by if before else ()) + (kind,))
                log.append(LookupRecord(operator, reporter.reference, kind, shown, person.id, person.name))
            if not result:
                log.append(LookupRecord(operator, reporter.reference, kind, shown, None, None))
        found[reporter.reference] = list(matches.values())
    await store.write(people.record, log)
    return found


async def search_people(directory: Directory, store: Store, operator: str, name: str) -> list[Person]:
    """A name search by the desk (search page), recorded as any lookup."""
    result = await directory.search(name)
    log = [LookupRecord(operator, None, "name", name[:254], p.id, p.name) for p in result]
    await store.write(people.record, log or [LookupRecord(operator, None, "name", name[:254], None, None)])
    return result


# -- CSV import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    """A line of the CSV file that was not imported, and why (never repeating a national number)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class HeaderError(ValueError):
    """The file cannot be read as a directory at all (no header row, missing columns)."""


def read_csv(path: Path) -> tuple[list[PersonIn], list[LineError]]:
    """The people of a CSV file (UTF-8, `,` or `;`, a header row naming COLUMNS in any order), and
    an error per line that could not be taken: the other lines are still imported."""
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise HeaderError(f"the header row lacks {', '.join(missing)} (expected: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    good: list[PersonIn] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            person = _person(row)
        except ValueError as exc:
            errors.append(LineError(line, str(exc)))
            continue
        nrn = person.national_register_number
        if nrn is not None and nrn in seen:
            errors.append(LineError(line, f"national_register_number: the same as on line {seen[nrn]}"))
            continue
        if nrn is not None:
            seen[nrn] = line
        good.append(person)
    return good, errors


def _person(row: dict[str | None, str | list[str] | None]) -> PersonIn:
    if row.get(None):
        raise ValueError(f"more fields than the {len(COLUMNS)} columns of the header")
    values = {c: (str(row.get(c) or "")).strip() or None for c in COLUMNS}
    for column, limit in _MAX.items():
        if values[column] is not None and len(str(values[column])) > limit:
            raise ValueError(f"{column}: at most {limit} characters")
    name = values["name"]
    if name is None:
        raise ValueError("name: empty")
    email = values["email"]
    if email is not None:
        email = email.lower()
        local, _, domain = email.partition("@")
        if not local or "." not in domain or " " in email:
            raise ValueError("email: not an e-mail address")
    phone = values["phone"]
    if phone is not None:
        phone = e164(phone)
        if not phone.startswith("+"):
            raise ValueError("phone: not a phone number")
    nrn = values["national_register_number"]
    if nrn is not None:
        try:
            nrn = NationalRegisterNumber.parse(nrn).digits
        except InvalidNationalNumber as exc:  # its message never repeats the number
            raise ValueError(f"national_register_number: {exc}") from None
    return PersonIn(
        name=name,
        name_folded=fold(name),
        street_address=values["street_address"],
        postcode=values["postcode"],
        municipality=values["municipality"],
        email=email,
        phone=phone,
        national_register_number=nrn,
    )
