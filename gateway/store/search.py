"""The desk's search (README "Desk workplace", /desk/search): meldingen by reference, street, reporter,
text, dienst, status and date range, newest first, a page at a time.

Text, street and reporter go through a full-text index the database keeps in step itself (migrations
0018, 0020), so no store function that writes meldingen (the worker's routing, retention's
anonymisation, a test's UPDATE) can forget it:
- SQLite: the FTS5 table `meldingen_search` (columns `body` = subject and text, `street` = street and
  address, `reporter` = name and e-mail; accents and case folded), filled by triggers on meldingen,
  its rowid the melding's rowid. Only a VACUUM could renumber meldingen's rowids, and the gateway never
  runs one (after a manual VACUUM, rebuild the table as migration 0018 fills it). A melding enters it
  when it leaves stage received, in the worker's transaction (0020: indexing cost the intake as much
  CPU as the rest of its insert); the meldingen still waiting for a worker are matched here, word
  by word as FTS5 would, read from the table (`_waiting`): a handful, thousands only while no
  worker runs.
- PostgreSQL: the generated column `meldingen.search_document` (tsvector: street and address weight
  A and reporter weight B with the 'simple' configuration, subject and text weight C with 'dutch'),
  with the GIN index `ix_meldingen_search_document`; a word matches as a prefix ("buda" finds
  Budastraat).
Reporter phone numbers and national register numbers (from the directory) match their columns
exactly, through their indexes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, literal_column, or_, select, text
from sqlalchemy import column as sa_column
from sqlalchemy.sql import ColumnElement

from gateway.melding import Channel, Stage
from gateway.store.schema import meldingen

EXCERPT = 200
COUNT_CAP = 1000  # matches counted exactly; past it the page says "more than"
MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")


def words(typed: str | None) -> tuple[str, ...]:
    """The words of what the desk typed, lowercased (punctuation never reaches a query language)."""
    return tuple(_WORD.findall((typed or "").lower()))[:MAX_WORDS]


@dataclass(frozen=True)
class SearchQuery:
    """What the desk searches for; every criterion given must hold."""

    reference: str | None = None
    street: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    reporter: tuple[str, ...] = ()  # words of a name or an e-mail address
    reporter_phones: tuple[str, ...] = ()  # E.164: typed, or of people the directory found
    reporter_emails: tuple[str, ...] = ()  # of people the directory found
    reporter_numbers: tuple[str, ...] = ()  # national register numbers of people the directory found
    dienst: str | None = None
    status: str | None = None
    received_from: datetime | None = None
    received_before: datetime | None = None

    def is_empty(self) -> bool:
        return self == SearchQuery()

    @property
    def by_reporter(self) -> bool:
        return bool(self.reporter or self.reporter_phones or self.reporter_emails or self.reporter_numbers)


@dataclass(frozen=True)
class Hit:
    id: str
    reference: str
    channel: Channel
    received_at: datetime
    status: str
    dienst: str | None
    street: str | None
    house_number: str | None
    reporter_name: str | None
    reporter_email: str | None
    reporter_phone: str | None
    national_register_number: str | None  # to look the reporter up; never shown
    excerpt: str


# -- SQLite: FTS5 ---------------------------------------------------------------------------------


def _fts_phrase(tokens: tuple[str, ...], prefix: bool = True, last_only: bool = False) -> str:
    """`"a"* AND "b"*`; with `last_only` only the last word is a beginning ("jan pee" as typed): a
    short common word as a prefix would expand to every token it begins (each e-mail's mailbox)."""
    return " AND ".join(
        f'"{t}"{"*" if prefix and (not last_only or n == len(tokens) - 1) else ""}'
        for n, t in enumerate(tokens)
    )


def _sqlite_match(
    column: str, expression: str, name: str, walk: bool, waiting: Sequence[str] = ()
) -> ColumnElement[bool]:
    """The meldingen whose FTS row matches: rowid IN (the FTS table's rowids), the cheapest join, or
    one of the `waiting` ids (matched outside the index). In `walk` mode written `+meldingen.rowid`
    so SQLite cannot look the matches up by rowid and walks ix_meldingen_received newest first
    instead, stopping at the page's end."""
    sql = f"SELECT rowid FROM meldingen_search WHERE meldingen_search MATCH :{name}"
    matching = text(sql).bindparams(bindparam(name, f"{column} : ({expression})"))
    rowid = literal_column("+meldingen.rowid" if walk else "meldingen.rowid")
    indexed = rowid.in_(matching.columns(sa_column("rowid")))
    if not waiting:
        return indexed
    # One JSON parameter, not one per id: after a long worker outage they may pass SQLite's limit
    # of bound variables.
    ids = text(f"SELECT value FROM json_each(:{name}_waiting)")
    ids = ids.bindparams(bindparam(f"{name}_waiting", json.dumps(list(waiting))))
    return or_(indexed, _plain("id", walk).in_(ids.columns(sa_column("value"))))


# The FTS5 phrases the desk's words make: (words, every word a beginning?, only the last one?).
_Phrase = tuple[tuple[str, ...], bool, bool]


def _reporter_phrases(query: SearchQuery) -> list[_Phrase]:
    # An address as all of its words, not a phrase: FTS5 then skips along its rarest word (the
    # mailbox) instead of checking the positions of "example" and "be" in every row.
    phrases: list[_Phrase] = [(query.reporter, True, True)] if query.reporter else []
    return phrases + [(words(e), False, False) for e in query.reporter_emails if words(e)]


def _sqlite_conditions(query: SearchQuery, walk: bool, waiting: Waiting) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.street:
        street = _fts_phrase(query.street, last_only=True)
        found.append(_sqlite_match("street", street, "q_street", walk, waiting.street))
    if query.text:
        found.append(_sqlite_match("body", _fts_phrase(query.text), "q_text", walk, waiting.body))
    if query.by_reporter:
        phrases = [_fts_phrase(w, prefix, last_only) for w, prefix, last_only in _reporter_phrases(query)]
        either = []
        if phrases:
            expression = " OR ".join(f"({p})" for p in phrases)
            either.append(_sqlite_match("reporter", expression, "q_reporter", walk, waiting.reporter))
        found.append(or_(*either, *_exact_reporter(query)))
    return found


# -- SQLite: the meldingen not yet in the index ---------------------------------------------------


def _fold(value: str) -> tuple[str, ...]:
    """Words as FTS5's unicode61 tokenizer (remove_diacritics 2) sees them: lower case, no accents."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return tuple(_WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c))))


def _folded(phrase: _Phrase) -> _Phrase:
    """The phrase with its words as the index holds them: folded once a search, not once a row."""
    typed, prefix, last_only = phrase
    return tuple("".join(_fold(word)) for word in typed), prefix, last_only


def _has(phrase: _Phrase, document: tuple[str, ...]) -> bool:
    """FTS5's `"a"* AND "b"*` on one column's words: every word there, whole or as a beginning.
    `phrase` is `_folded`."""
    typed, prefix, last_only = phrase
    for n, word in enumerate(typed):
        beginning = prefix and (not last_only or n == len(typed) - 1)
        if not any(w.startswith(word) if beginning else w == word for w in document):
            return False
    return True


@dataclass(frozen=True)
class Waiting:
    """The ids of meldingen at stage received (not indexed yet) that match each word criterion."""

    street: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    reporter: tuple[str, ...] = ()
    every: tuple[str, ...] = ()  # matching all the word criteria given


def _waiting(conn: Connection, query: SearchQuery) -> Waiting:
    if not (query.street or query.text or query.reporter or query.reporter_emails):
        return Waiting()
    columns = (meldingen.c[name] for name in ("id", "subject", "text", "street", "address"))
    rows = conn.execute(
        select(*columns, meldingen.c.reporter_name, meldingen.c.reporter_email).where(
            meldingen.c.stage == Stage.RECEIVED.value  # ix_meldingen_stage_received
        )
    )
    street, body, reporter, every = [], [], [], []
    street_phrase = _folded((query.street, True, True))
    text_phrase = _folded((query.text, True, False))
    reporter_phrases = [_folded(p) for p in _reporter_phrases(query)]
    for row in rows:
        hits = []
        if query.street:
            hits.append(_has(street_phrase, _fold(f"{row.street or ''} {row.address or ''}")))
            street += [row.id] if hits[-1] else []
        if query.text:
            hits.append(_has(text_phrase, _fold(f"{row.subject or ''} {row.text}")))
            body += [row.id] if hits[-1] else []
        if reporter_phrases:
            document = _fold(f"{row.reporter_name or ''} {row.reporter_email or ''}")
            hits.append(any(_has(p, document) for p in reporter_phrases))
            reporter += [row.id] if hits[-1] else []
        every += [row.id] if all(hits) else []
    return Waiting(tuple(street), tuple(body), tuple(reporter), tuple(every))


# -- PostgreSQL: tsvector ---------------------------------------------------------------------------


def _tsquery(config: str, tokens: tuple[str, ...], weight: str, name: str, last_only: bool = False) -> Any:
    """`word:*A & other:*A` with the words bound as one parameter (they hold letters and digits only);
    with `last_only` only the last word is a prefix, as in SQLite."""
    value = " & ".join(
        f"{t}:{'*' if not last_only or n == len(tokens) - 1 else ''}{weight}" for n, t in enumerate(tokens)
    )
    return func.to_tsquery(literal_column(f"'{config}'"), bindparam(name, value))


def _pg_conditions(query: SearchQuery) -> list[ColumnElement[bool]]:
    document = literal_column("meldingen.search_document")
    found: list[ColumnElement[bool]] = []
    if query.street:
        found.append(document.op("@@")(_tsquery("simple", query.street, "A", "q_street", last_only=True)))
    if query.text:
        found.append(document.op("@@")(_tsquery("dutch", query.text, "C", "q_text")))
    if query.by_reporter:
        either: list[ColumnElement[bool]] = []
        if query.reporter:
            either.append(
                document.op("@@")(_tsquery("simple", query.reporter, "B", "q_reporter", last_only=True))
            )
        for n, email in enumerate(query.reporter_emails):
            phrase = func.phraseto_tsquery(literal_column("'simple'"), bindparam(f"q_email{n}", email))
            either.append(document.op("@@")(phrase))
        found.append(or_(*either, *_exact_reporter(query)))
    return found


# -- both ----------------------------------------------------------------------------------------


def _exact_reporter(query: SearchQuery) -> list[ColumnElement[bool]]:
    exact: list[ColumnElement[bool]] = []
    if query.reporter_phones:
        exact.append(meldingen.c.reporter_phone.in_(query.reporter_phones))  # ix_meldingen_reporter_phone
    if query.reporter_numbers:
        exact.append(meldingen.c.national_register_number.in_(query.reporter_numbers))  # ix_meldingen_nrn
    return exact


def _plain(name: str, walk: bool) -> Any:
    """A plain (string) column; in SQLite's `walk` mode as `+meldingen.<name>`, which no index serves."""
    return literal_column(f"+meldingen.{name}") if walk else meldingen.c[name]


def _conditions(
    conn: Connection, query: SearchQuery, waiting: Waiting, walk: bool = False
) -> list[ColumnElement[bool]]:
    postgresql = conn.dialect.name == "postgresql"
    found = _pg_conditions(query) if postgresql else _sqlite_conditions(query, walk, waiting)
    if query.reference:
        typed = query.reference.strip().upper()
        # The whole reference, or its beginning ("1777-2026-0001"): a range, so the unique index serves.
        found.append(
            or_(
                meldingen.c.reference == typed,
                and_(meldingen.c.reference >= typed, meldingen.c.reference < typed + "\uffff"),
            )
        )
    if query.dienst:
        found.append(_plain("dienst", walk) == bindparam("q_dienst", query.dienst))
    if query.status:
        found.append(_plain("status", walk) == bindparam("q_status", query.status))
    if query.received_from is not None:
        found.append(meldingen.c.received_at >= query.received_from)
    if query.received_before is not None:
        found.append(meldingen.c.received_at < query.received_before)
    return found


_HIT = (
    meldingen.c.id,
    meldingen.c.reference,
    meldingen.c.channel,
    meldingen.c.received_at,
    meldingen.c.status,
    meldingen.c.dienst,
    meldingen.c.street,
    meldingen.c.house_number,
    meldingen.c.reporter_name,
    meldingen.c.reporter_email,
    meldingen.c.reporter_phone,
    meldingen.c.national_register_number,
    func.substr(meldingen.c.text, 1, EXCERPT + 1).label("start"),
)


def _fts_alone(query: SearchQuery) -> str | None:
    """The one FTS5 expression of a query of words only (street, text, a name): its matches can be
    counted in the FTS table alone, one row per melding, without reading meldingen."""
    exact = (query.reference, query.dienst, query.status, query.received_from, query.received_before)
    if any(v is not None for v in exact) or query.reporter_phones or query.reporter_emails:
        return None
    if query.reporter_numbers:
        return None
    parts = []
    if query.street:
        parts.append(f"street : ({_fts_phrase(query.street, last_only=True)})")
    if query.text:
        parts.append(f"body : ({_fts_phrase(query.text)})")
    if query.reporter:
        parts.append(f"reporter : ({_fts_phrase(query.reporter, last_only=True)})")
    return " AND ".join(parts) or None


def _count(conn: Connection, query: SearchQuery, sqlite: bool, waiting: Waiting) -> int:
    """How many match, up to COUNT_CAP + 1."""
    alone = _fts_alone(query) if sqlite else None
    if alone is not None:
        sql = "SELECT count(*) FROM (SELECT 1 FROM meldingen_search WHERE meldingen_search MATCH :q LIMIT :n)"
        indexed = int(conn.execute(text(sql), {"q": alone, "n": COUNT_CAP + 1}).scalar_one())
        return min(indexed + len(waiting.every), COUNT_CAP + 1)  # the waiting are never in the index
    found = _conditions(conn, query, waiting)
    matching = select(literal_column("1")).select_from(meldingen).where(and_(*found))
    return int(
        conn.execute(select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery())).scalar_one()
    )


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int  # at most COUNT_CAP
    more: bool  # more than COUNT_CAP match: the desk is asked to narrow the search


def search(conn: Connection, query: SearchQuery, offset: int, limit: int) -> Results:
    """One page of the meldingen that match, newest first, and how many match (counted up to
    COUNT_CAP: an exact count of a quarter of the store costs more than the page itself).

    SQLite picks its plan from the count: up to COUNT_CAP matches it reads them by rowid or index
    and sorts them (a few hundred rows); past it, the matches are dense, and walking
    ix_meldingen_received newest first finds a page in a few thousand index entries instead of
    sorting tens of thousands of rows. PostgreSQL's planner has statistics and chooses itself."""
    if query.is_empty():
        return Results([], 0, False)
    sqlite = conn.dialect.name == "sqlite"
    waiting = _waiting(conn, query) if sqlite else Waiting()
    counted = _count(conn, query, sqlite, waiting)
    walk = counted > COUNT_CAP and sqlite
    # Few matches on SQLite: `+received_at` keeps it from walking the index for the order (it would
    # pass most of the store to find them); it finds them by their own criteria, then sorts.
    newest = literal_column("+meldingen.received_at") if sqlite and not walk else meldingen.c.received_at
    rows = conn.execute(
        select(*_HIT)
        .where(and_(*_conditions(conn, query, waiting, walk)))
        .order_by(newest.desc(), meldingen.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    hits = [
        Hit(
            **{k: v for k, v in row._mapping.items() if k not in ("start", "channel")},
            channel=Channel(row.channel),
            excerpt=row.start if len(row.start) <= EXCERPT else row.start[:EXCERPT].rstrip() + "…",
        )
        for row in rows
    ]
    return Results(hits, min(counted, COUNT_CAP), counted > COUNT_CAP)
