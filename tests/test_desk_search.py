"""The desk's search, /desk/search: by reference, street, reporter (name, e-mail, phone, and through
the reporter directory), text, dienst, status and date range; pages; the index kept in step with the
meldingen by the database (SQLite FTS5 triggers, PostgreSQL's generated tsvector). Both stores."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text, update

from gateway.config import Settings
from gateway.directory import read_csv
from gateway.http.app import create_app
from gateway.store import directory as store_directory
from gateway.store.schema import meldingen
from tests.support.api import post, store_of
from tests.support.data import ROOT
from tests.support.desk import add_operator, desk_settings, login

PEOPLE = ROOT / "tests" / "data" / "directory" / "people.csv"
FOUND = re.compile(r'<tr data-reference="([^"]+)">')


def _melding(text: str, street: str, reporter: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "text": text,
        "reporter": reporter or {},
        "location": {"street": street, "house_number": "3", "postcode": "8500"},
        **extra,
    }


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(desk_settings(settings)))) as c:
        store = store_of(c)
        await add_operator(store, "an")
        people, _ = read_csv(PEOPLE)
        await store.write(store_directory.save, people, replace=False)
        assert (await login(c, "an")).status == 303
        yield c


@pytest.fixture
async def seeded(site: TestClient[Any, Any]) -> dict[str, dict[str, Any]]:
    made = {
        "tile": await post(
            site,
            _melding(
                "Losliggende tegels op het voetpad.",
                "Budastraat",
                {"name": "Jan Peeters", "email": "jan.peeters@example.be"},
            ),
        ),
        "lamp": await post(
            site,
            _melding(
                "De straatlamp brandt niet meer.",
                "Doorniksestraat",
                {"phone": "0486 11 22 33", "feedback": "sms"},  # news by SMS: stored in E.164
            ),
        ),
        # A number as the client wrote it, no SMS asked: stored in E.164 all the same.
        "bin": await post(
            site,
            _melding(
                "Sluikstort naast de glasbol.", "Gentsesteenweg", {"name": "Tom", "phone": "0470123456"}
            ),
        ),
        # No name, e-mail or phone: only the national register number ties it to Pieter Claes.
        "portal": await post(
            site,
            {
                **_melding("Graag een nieuwe vuilnisbak.", "Overleiestraat"),
                "national_register_number": "66010115940",
            },
        ),
    }
    dates = {
        "tile": datetime(2026, 3, 2, 9, tzinfo=UTC),
        "lamp": datetime(2026, 4, 15, 9, tzinfo=UTC),
        "bin": datetime(2026, 5, 20, 9, tzinfo=UTC),
        "portal": datetime(2026, 6, 1, 9, tzinfo=UTC),
    }
    # Two past the worker (in SQLite's index), two still waiting for it (matched outside the index).
    settle = {
        "tile": ("wegen", "in_behandeling", "delivered"),
        "lamp": ("verlichting", "geregistreerd", "routed"),
    }

    def shape(conn: Any) -> None:
        for key, m in made.items():
            dienst, status, stage = settle.get(key, ("nette_stad", "ontvangen", "received"))
            values = {"received_at": dates[key], "dienst": dienst, "status": status, "stage": stage}
            conn.execute(update(meldingen).where(meldingen.c.id == m["id"]).values(**values))

    await store_of(site).write(shape)
    return made


async def _search(site: TestClient[Any, Any], **params: str) -> tuple[list[str], str]:
    answer = await site.get("/desk/search", params=params)
    page = await answer.text()
    assert answer.status == 200, page
    return FOUND.findall(page), page


def _refs(seeded: dict[str, dict[str, Any]], *keys: str) -> list[str]:
    """References newest first, as the page lists them."""
    order = ["portal", "bin", "lamp", "tile"]
    return [seeded[k]["reference"] for k in order if k in keys]


async def test_search_by_reference_whole_or_its_beginning(
    site: TestClient[Any, Any], seeded: dict[str, dict[str, Any]]
) -> None:
    tile = seeded["tile"]["reference"]
    assert (await _search(site, reference=tile))[0] == [tile]
    found, _ = await _search(site, reference=tile[:-1])
    assert tile in found and len(found) <= 4
    assert (await _search(site, reference="1777-1999-"))[0] == []


async def test_search_by_street_a_word_or_its_beginning_not_the_text(
    site: TestClient[Any, Any], seeded: dict[str, dict[str, Any]]
) -> None:
    assert (await _search(site, street="Budastraat"))[0] == _refs(seeded, "tile")
    assert (await _search(site, street="doorniks"))[0] == _refs(seeded, "lamp")
    assert (await _search(site, street="straatlamp"))[0] == []  # in the text, not in a street


async def test_search_by_text_and_an_updated_text_is_found_by_its_new_words(
    site: TestClient[Any, Any], seeded: dict[str, dict[str, Any]]
) -> None:
    assert (await _search(site, text="tegel voetpad"))[0] == _refs(seeded, "tile")
    assert (await _search(site, text="Budastraat"))[0] == []  # a street is not the text

    def rewrite(conn: Any) -> None:
        new = {"text": "Een omgevallen boom blokkeert de weg.", "street": "Marktplein"}
        conn.execute(update(meldingen).where(meldingen.c.id == seeded["bin"]["id"]).values(**new))

    await store_of(site).write(rewrite)
    assert (await _search(site, text="omgevallen boom"))[0] == _refs(seeded, "bin")
    assert (await _search(site, text="sluikstort"))[0] == []
    assert (await _search(site, street="gentsesteenweg"))[0] == []
    assert (await _search(site, street="marktplein"))[0] == _refs(seeded, "bin")


async def test_search_by_reporter_name_email_phone_and_through_the_directory(
    site: TestClient[Any, Any], seeded: dict[str, dict[str, Any]]
) -> None:
    # Jan Peeters: by name and e-mail on the tile; by the directory's phone on the bin, whose number
    # the API was given as "0470123456" (the directory has "0470 12 34 56").
    assert (await _search(site, reporter="peeters"))[0] == _refs(seeded, "tile", "bin")
    assert (await _search(site, reporter="Jan.Peeters@example.be"))[0] == _refs(seeded, "tile")
    assert (await _search(site, reporter="+32 486 11 22 33"))[0] == _refs(seeded, "lamp")
    assert (await _search(site, reporter="0486/11.22.33"))[0] == _refs(seeded, "lamp")
    for writing in ("0470123456", "0470/12.34.56", "0470 12 34 56", "+32470123456"):
        assert (await _search(site, reporter=writing))[0] == _refs(seeded, "bin"), writing
    # Mohamed El Amrani's phone is on the lamp melding, which carries no name: the directory finds it.
    found, page = await _search(site, reporter="El Amrani")
    assert found == _refs(seeded, "lamp")
    assert "In de directory gevonden: Mohamed El Amrani (Kortrijk)" in page
    assert "Directory: Mohamed El Amrani, Gentsesteenweg 120, 8500 Kortrijk" in page
    # Pieter Claes only by his national register number (a portal intake), never shown.
    found, page = await _search(site, reporter="claes")
    assert found == _refs(seeded, "portal") and "66010115940" not in page
    assert "Directory: Pieter Claes, Overleiestraat 55" in page

    lookups = (await store_of(site).read(store_directory.lookups, 0, 100))[0]
    assert ("an", "name", "claes", "Pieter Claes") in {
        (e.operator, e.kind, e.query, e.person_name) for e in lookups
    }
    assert not any("660101" in e.query for e in lookups)


async def test_search_by_dienst_status_and_date_range_combined(
    site: TestClient[Any, Any], seeded: dict[str, dict[str, Any]]
) -> None:
    assert (await _search(site, dienst="verlichting"))[0] == _refs(seeded, "lamp")
    assert (await _search(site, status="in_behandeling"))[0] == _refs(seeded, "tile")
    assert (await _search(site, **{"from": "2026-04-15", "to": "2026-05-20"}))[0] == _refs(
        seeded, "bin", "lamp"
    )
    assert (await _search(site, **{"to": "2026-03-02"}))[0] == _refs(seeded, "tile")
    assert (await _search(site, dienst="nette_stad", **{"from": "2026-06-01"}))[0] == _refs(seeded, "portal")
    assert (await _search(site, street="budastraat", status="geregistreerd"))[0] == []


async def test_results_link_to_the_desk_page_and_come_a_page_at_a_time(site: TestClient[Any, Any]) -> None:
    made = [await post(site, _melding(f"Kapotte bank nummer {n}", "Groeningestraat")) for n in range(27)]
    found, page = await _search(site, street="groeninge")
    assert len(found) == 25 and "27 meldingen" in page and "pagina 1 van 2" in page
    newest = made[-1]
    assert f'href="/desk/meldingen/{newest["id"]}"' in page
    assert 'href="/desk/search?street=groeninge&amp;page=2"' in page
    second, _ = await _search(site, street="groeninge", page="2")
    assert len(second) == 2 and not set(second) & set(found)
    opened = await site.get(f"/desk/meldingen/{newest['id']}")
    assert opened.status == 200 and newest["reference"] in await opened.text()


async def test_an_empty_search_lists_nothing_and_bad_criteria_are_400(site: TestClient[Any, Any]) -> None:
    found, page = await _search(site)
    assert found == [] and "Vul minstens één veld in." in page
    for params, field in (
        ({"from": "gisteren"}, "from"),
        ({"dienst": "geen"}, "dienst"),
        ({"status": "x"}, "status"),
    ):
        answer = await site.get("/desk/search", params=params)
        assert answer.status == 400 and (await answer.json())["error"]["field"] == field
    assert (await site.get("/desk/search", params={"text": "x" * 201})).status == 400
    # Query-language characters are only ever words: no syntax error, no 500.
    for odd in ('"', "a OR", "NEAR(", "tegel:*", "a & | !", "*"):
        assert (
            await site.get("/desk/search", params={"text": odd, "street": odd, "reporter": odd})
        ).status == 200


async def test_the_search_needs_a_login(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(desk_settings(settings)))) as c:
        answer = await c.get("/desk/search?text=tegel", allow_redirects=False)
        assert answer.status == 303 and answer.headers["Location"].startswith("/desk/login")


async def test_past_the_count_cap_the_newest_come_first_and_the_page_says_more(
    site: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past COUNT_CAP matches SQLite walks the received_at index instead of sorting: the same order."""
    made = [await post(site, _melding(f"Kapotte bank nummer {n}", "Groeningestraat")) for n in range(8)]

    def spread(conn: Any) -> None:  # received one day apart, in the reverse order of posting
        for n, m in enumerate(made):
            at = datetime(2026, 1, 20 - n, 9, tzinfo=UTC)
            conn.execute(update(meldingen).where(meldingen.c.id == m["id"]).values(received_at=at))

    await store_of(site).write(spread)
    exact, _ = await _search(site, street="groeninge", text="bank")
    assert exact == [m["reference"] for m in made]  # the first posted is the newest
    monkeypatch.setattr("gateway.store.search.COUNT_CAP", 5)
    capped, page = await _search(site, street="groeninge", text="bank")
    assert capped == exact and "Meer dan 5 meldingen" in page
    walked, _ = await _search(site, street="groeninge", status="ontvangen", dienst="nette_stad")
    assert walked == []  # none is routed yet (no worker runs here)
    walked, _ = await _search(site, street="groeninge", status="ontvangen")
    assert walked == exact
    only_late, _ = await _search(site, street="groeninge", status="ontvangen", **{"from": "2026-01-16"})
    assert only_late == [m["reference"] for m in made[:5]]


def _indexed(conn: Any) -> set[str]:
    if conn.dialect.name != "sqlite":
        return set()
    return {row.melding_id for row in conn.execute(text("SELECT melding_id FROM meldingen_search"))}


async def test_a_melding_waiting_for_the_worker_is_found_and_indexed_once_it_leaves_received(
    site: TestClient[Any, Any],
) -> None:
    """SQLite indexes a melding when it leaves stage received (the worker's transaction, not the
    intake's: migration 0020); before that the search matches it outside the index, as FTS5 would
    (accents and case folded, a word's beginning), and counts it once either way."""
    store = store_of(site)
    made = [
        await post(site, _melding("Een gevaarlijke put in het fietspad, café ernaast.", "Sint-Jansstraat")),
        await post(
            site, _melding("Nog een put in het fietspad.", "Sint-Jansstraat", {"name": "Eléonore Dubois"})
        ),
    ]
    refs = [m["reference"] for m in reversed(made)]  # newest first
    sqlite = (await store.read(lambda conn: conn.dialect.name)) == "sqlite"
    if sqlite:
        assert not {m["id"] for m in made} & await store.read(_indexed)  # the intake left the index alone
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"street": "sint jans"}, refs),
        ({"text": "fiets"}, refs),
        ({"text": "put", "street": "sint-jansstraat"}, refs),
        ({"reporter": "dubois"}, refs[:1]),
        ({"text": "putdeksel"}, []),  # a longer word is no beginning of "put"
    ]
    if sqlite:  # FTS5 folds accents (PostgreSQL's 'simple' configuration does not)
        cases += [({"text": "CAFE fiets"}, refs[1:]), ({"reporter": "eleonore"}, refs[:1])]
    for params, expected in cases:
        found, page = await _search(site, **params)
        assert found == expected, params
        assert expected == [] or f"{len(expected)} melding" in page

    def route(conn: Any, stage: str) -> None:
        conn.execute(
            update(meldingen).where(meldingen.c.id == made[0]["id"]).values(stage=stage, dienst="wegen")
        )

    await store.write(route, "routed")
    if sqlite:
        assert made[0]["id"] in await store.read(_indexed) and made[1]["id"] not in await store.read(_indexed)
    found, page = await _search(site, street="sint jans")
    assert found == refs and "2 meldingen" in page  # one from the index, one waiting: each once
    assert (await _search(site, text="gevaarlijke"))[0] == refs[1:]
    await store.write(route, "received")  # the desk routed it from triage: the worker takes it again
    if sqlite:
        assert made[0]["id"] not in await store.read(_indexed)
    assert (await _search(site, text="gevaarlijke"))[0] == refs[1:]


async def test_more_waiting_meldingen_than_sqlite_binds_variables_are_still_searched(tmp_path: Any) -> None:
    """After a long worker outage the waiting matches may outnumber the variables SQLite binds in
    one statement (999 before 3.32, 32,766 since, more in some builds): they reach the query as
    one JSON parameter. The limit is set to 999 here, whatever this build's."""
    import sqlite3

    from sqlalchemy import event

    from gateway.store import Store
    from gateway.store.search import SearchQuery, search

    store = Store(f"sqlite:///{tmp_path}/many.db")
    limit = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
    event.listen(store._sqlite, "connect", lambda dbapi, _record: dbapi.setlimit(limit, 999))
    await store.open()
    try:

        def fill(conn: Any) -> None:
            for first in range(0, 3000, 100):
                rows = [
                    (f"m{n}", f"1777-2026-{n:06d}", f"2026-12-0{1 + n % 4} 09:00:00.000000", f"t{n}")
                    for n in range(first, first + 100)
                ]
                conn.exec_driver_sql(
                    "INSERT INTO meldingen (id, reference, channel, received_at, text, status, stage,"
                    " tracking_token, updated_at) VALUES (?, ?, 'web', ?, 'Losse tegel in de Budastraat',"
                    " 'ontvangen', 'received', ?, '2026-12-04 09:00:00')",
                    rows,
                )

        await store.write(fill)
        found = await store.read(search, SearchQuery(text=("tegel",), status="ontvangen"), 0, 25)
        assert found.more and found.total == 1000 and len(found.hits) == 25
        assert all(hit.received_at.day == 4 for hit in found.hits)  # newest first
        few = await store.read(search, SearchQuery(text=("tegel",), reference="1777-2026-00299"), 0, 25)
        assert {hit.reference for hit in few.hits} == {f"1777-2026-00299{n}" for n in range(10)}
        assert few.total == 10 and not few.more
    finally:
        await store.close()
