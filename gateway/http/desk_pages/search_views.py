"""The desk's search page, /desk/search (README "Desk workplace"): by reference, street, reporter
(name, e-mail or phone; a name is also looked up in the reporter directory, whose people's e-mail,
phone and national register number then find their meldingen), text, dienst, status and a date
range; 25 a page, newest first; each result links to the melding's desk page and shows who its
reporter is in the directory. Every directory lookup is recorded (gateway.directory)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiMapping

from gateway.appkeys import SETTINGS, STORE
from gateway.directory import Found, Reporter, identify, search_people
from gateway.handling import error_body
from gateway.http.desk_pages.auth import OPERATOR
from gateway.http.desk_pages.directory_views import KINDS, directory_of, page_context
from gateway.http.desk_pages.paging import paging
from gateway.melding import DIENST_CODES, Channel, Status
from gateway.national_number import InvalidNationalNumber, NationalRegisterNumber
from gateway.phonenumber import e164
from gateway.store import search as store_search
from gateway.store.directory import Person
from gateway.store.search import Hit, SearchQuery, words

PAGE_SIZE = 25
FIELDS = ("reference", "street", "reporter", "text", "dienst", "status", "from", "to")
MAX_FIELD = 200
_PHONE = re.compile(r"\+?[\d\s./()-]{6,}")


class BadSearch(ValueError):
    """A criterion the page cannot search by (400 JSON naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _day(typed: str, field: str, zone: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        raise BadSearch(field, f"{field}: a date as YYYY-MM-DD") from None
    return datetime.combine(day, time(), zone).astimezone(UTC)


def parse(params: MultiMapping[str], zone: ZoneInfo) -> tuple[SearchQuery, str | None]:
    """The query the form's fields ask for, and the name to look up in the directory (if any)."""
    typed = {f: params.get(f, "").strip() for f in FIELDS}
    for field, value in typed.items():
        if len(value) > MAX_FIELD:
            raise BadSearch(field, f"{field}: at most {MAX_FIELD} characters")
    if typed["dienst"] and typed["dienst"] not in DIENST_CODES:
        raise BadSearch("dienst", f"dienst must be one of {', '.join(DIENST_CODES)}")
    if typed["status"] and typed["status"] not in {s.value for s in Status}:
        raise BadSearch("status", "status: not a status")
    query = SearchQuery(
        reference=typed["reference"] or None,
        street=words(typed["street"]),
        text=words(typed["text"]),
        dienst=typed["dienst"] or None,
        status=typed["status"] or None,
        received_from=_day(typed["from"], "from", zone) if typed["from"] else None,
        received_before=_day(typed["to"], "to", zone) + timedelta(days=1) if typed["to"] else None,
    )
    reporter, name = typed["reporter"], None
    if "@" in reporter:
        query = replace(query, reporter_emails=(reporter.lower(),))
    elif _PHONE.fullmatch(reporter) and sum(c.isdigit() for c in reporter) >= 6:
        # E.164 as the channels store numbers; also as typed: the JSON API keeps a client's own form.
        query = replace(query, reporter_phones=tuple(dict.fromkeys((e164(reporter), reporter))))
    elif words(reporter):
        query, name = replace(query, reporter=words(reporter)), reporter
    return query, name


def _with_people(query: SearchQuery, people: list[Person]) -> SearchQuery:
    """The reporter criterion widened to the meldingen of the people the directory found by name."""
    return replace(
        query,
        reporter_emails=query.reporter_emails + tuple(p.email for p in people if p.email),
        reporter_phones=query.reporter_phones + tuple(p.phone for p in people if p.phone),
        reporter_numbers=tuple(p.national_number.digits for p in people if p.national_number),
    )


def _reporter_of(hit: Hit) -> Reporter:
    try:
        nrn = NationalRegisterNumber(hit.national_register_number) if hit.national_register_number else None
    except InvalidNationalNumber:
        nrn = None
    return Reporter(hit.reference, hit.reporter_email, hit.reporter_phone, nrn, hit.channel == Channel.PHONE)


async def search_page(request: web.Request) -> web.Response:
    settings, store = request.config_dict[SETTINGS], request.config_dict[STORE]
    try:
        query, name = parse(request.query, ZoneInfo(settings.timezone))
    except BadSearch as exc:
        return error_body(400, "invalid_search", str(exc), field=exc.field)
    at = paging(request, PAGE_SIZE)
    operator = request[OPERATOR].name
    people: list[Person] = []
    if name is not None:
        people = await search_people(directory_of(request), store, operator, name)
        query = _with_people(query, people)
    results = await store.read(store_search.search, query, at.offset, at.size)
    hits, total = results.hits, results.total
    reporters = [
        _reporter_of(h) for h in hits if h.reporter_email or h.reporter_phone or h.national_register_number
    ]
    found: dict[str, list[Found]] = {}
    if reporters:
        found = await identify(directory_of(request), store, operator, reporters)
    values = {f: request.query.get(f, "").strip() for f in FIELDS}
    context: dict[str, Any] = {
        **at.context(total),  # with more than COUNT_CAP: as far as counted
        "searched": not query.is_empty(),
        "hits": hits,
        "more": results.more,
        "values": values,
        "query_string": urlencode({k: v for k, v in values.items() if v}),
        "people": people,
        "found": found,
        "kinds": KINDS,
        "diensten": DIENST_CODES,
        "statuses": [s.value for s in Status],
    }
    return aiohttp_jinja2.render_template("search.html", request, await page_context(request, context))
