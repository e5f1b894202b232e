"""Who is calling: the reporter directory (gateway/directory.py). The CSV import (good lines, bad
lines with their numbers, --replace), a melding's desk page showing the reporter and where they
live, every lookup logged under the operator's name, the national register number masked and never
logged, caller-ID on a phone melding, and the admin-only access log. Both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.cli import main as gateway_main
from gateway.config import Settings
from gateway.directory import read_csv
from gateway.http.app import create_app
from gateway.store import Store
from gateway.store import directory as store_directory
from gateway.store.operators import Role
from tests.support import phone
from tests.support.api import post, store_of
from tests.support.data import ROOT, TILE
from tests.support.desk import add_operator, desk_settings, login

PEOPLE = ROOT / "tests" / "data" / "directory" / "people.csv"
HEADER = "name,street_address,postcode,municipality,email,phone,national_register_number\n"
JAN_NRN = "85073003328"  # Jan Peeters in people.csv (fictional)


@pytest.fixture
def on(settings: Settings) -> Settings:
    return desk_settings(settings, phone_secret=phone.PHONE_SECRET)


@pytest.fixture
async def site(on: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(on))) as c:
        store = store_of(c)
        await add_operator(store, "an")
        await add_operator(store, "chef", Role.ADMIN)
        people, errors = read_csv(PEOPLE)
        assert errors == []
        await store.write(store_directory.save, people, replace=False)
        yield c


async def _log(store: Store) -> list[store_directory.LookupRecord]:
    return (await store.read(store_directory.lookups, 0, 1000))[0]


# ------------------------------------------------------------------------------------------ import


async def _import(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    return await asyncio.to_thread(gateway_main, ["directory", "import", *args])


async def test_import_loads_good_lines_reports_bad_ones_by_line_and_replace_starts_over(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert await _import(settings, monkeypatch, str(PEOPLE)) == 0
    assert "6 imported, 0 refused; 6 people in the directory" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "Els Maes,Budastraat 1,8500,Kortrijk,els@example.be,0470 00 00 01,\n"  # line 2: good
        + ",Budastraat 2,8500,Kortrijk,x@example.be,,\n"  # line 3: no name
        + "Tom Wouters,Budastraat 3,8500,Kortrijk,geen-adres,,\n"  # line 4: bad e-mail
        + "Bram Jacobs,Budastraat 4,8500,Kortrijk,,,85073003329\n"  # line 5: check digits
        + "Sara Goossens,Budastraat 5,8500,Kortrijk,,12,\n"  # line 6: not a phone number
        + "Jan Peeters,Budastraat 14,8500,Kortrijk,jan.peeters@example.be,,85.07.30-033.28\n",  # 7: good
        encoding="utf-8",
    )
    assert await _import(settings, monkeypatch, str(bad)) == 1  # some refused, the rest imported
    captured = capsys.readouterr()
    assert "line 3: name: empty" in captured.err
    assert "line 4: email: not an e-mail address" in captured.err
    assert "line 5: national_register_number: the check digits" in captured.err
    assert "line 6: phone: not a phone number" in captured.err
    assert "85073003329" not in captured.err and "line 2" not in captured.err and "line 7" not in captured.err
    assert "2 imported, 4 refused; 7 people in the directory" in captured.out  # Jan updated, not doubled

    store = Store(settings.database_url)
    await store.open()
    try:
        [jan] = (await store.read(store_directory.by_national_numbers, [JAN_NRN]))[JAN_NRN]
        assert jan.street_address == "Budastraat 14" and jan.phone is None
        assert await _import(settings, monkeypatch, str(bad), "--replace") == 1
        assert "2 imported, 4 refused (directory replaced); 2 people" in capsys.readouterr().out
        assert await store.read(store_directory.by_emails, ["genevieve.dubois@example.be"]) == {}
        [els] = (await store.read(store_directory.by_phones, ["+32470000001"]))["+32470000001"]
        assert els.name == "Els Maes"
    finally:
        await store.close()


async def test_importing_a_file_again_adds_nobody_twice(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # people without a national register number used to be added again at every import
    people = tmp_path / "people.csv"
    lines = [
        "Els Maes,Budastraat 1,8500,Kortrijk,Els.Maes@example.be,0470 00 00 01,\n",
        "Wim Maes,,,,,,\n",  # neither e-mail nor phone
        "Wim Maes,Budastraat 9,8500,Kortrijk,,,\n",  # a namesake elsewhere: another person
        "Jan Peeters,Budastraat 12,8500,Kortrijk,jan.peeters@example.be,,85.07.30-033.28\n",
    ]
    people.write_text(HEADER + "".join(lines), encoding="utf-8")
    said = []
    for _ in range(3):
        assert await _import(settings, monkeypatch, str(people)) == 0
        said.append(capsys.readouterr().out.strip())
    assert said[0] == "4 imported, 0 refused; 4 people in the directory: 4 new, 0 updated, 0 unchanged"
    assert (
        said[1]
        == said[2]
        == "4 imported, 0 refused; 4 people in the directory: 0 new, 0 updated, 4 unchanged"
    )
    # the same Els written otherwise (e-mail case, phone in E.164) with a new address: updated
    lines[0] = "Els Maes,Budastraat 2,8500,Kortrijk,els.maes@example.be,+32470000001,\n"
    people.write_text(HEADER + "".join(lines), encoding="utf-8")
    assert await _import(settings, monkeypatch, str(people)) == 0
    assert (
        capsys.readouterr().out.strip().endswith("4 people in the directory: 0 new, 1 updated, 3 unchanged")
    )
    store = Store(settings.database_url)
    await store.open()
    try:
        [els] = (await store.read(store_directory.by_phones, ["+32470000001"]))["+32470000001"]
        assert els.street_address == "Budastraat 2"
    finally:
        await store.close()


async def test_a_file_without_the_columns_imports_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("naam;adres\nJan;Budastraat 1\n", encoding="utf-8")
    assert await _import(settings, monkeypatch, str(wrong)) == 2
    assert "the header row lacks name" in capsys.readouterr().err


def test_semicolons_and_a_byte_order_mark_as_a_spreadsheet_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    zoe_line = "Zoë Lambrecht;Budastraat 9;8500;Kortrijk;ZOE@Example.be;056 11 22 33;\n"
    text = HEADER.replace(",", ";") + zoe_line
    path.write_text("\ufeff" + text, encoding="utf-8")
    [zoe], errors = read_csv(path)
    assert errors == [] and zoe.email == "zoe@example.be" and zoe.phone == "+3256112233"
    assert zoe.name_folded == "zoe lambrecht"


# ---------------------------------------------------------------------------- on a melding's page


async def test_the_melding_page_shows_the_reporter_and_logs_the_lookup_with_the_operator(
    site: TestClient[Any, Any],
) -> None:
    reporter = {"name": "J. Peeters", "email": "Jan.Peeters@example.be"}
    created = await post(site, {**TILE, "reporter": reporter, "national_register_number": JAN_NRN})
    assert (await login(site, "an")).status == 303
    page = await (await site.get(f"/desk/meldingen/{created['id']}")).text()
    assert "Melder in de directory" in page
    assert "Jan Peeters" in page and "Budastraat 12" in page and "8500 Kortrijk" in page
    assert "+32 470 12 34 56" in page
    assert "*********28" in page and JAN_NRN not in page and "850730" not in page
    assert "e-mail, rijksregisternummer" in page  # matched by both

    log = await _log(store_of(site))
    assert {(entry.operator, entry.kind, entry.person_name) for entry in log} == {
        ("an", "email", "Jan Peeters"),
        ("an", "national_number", "Jan Peeters"),
    }
    assert all(entry.melding_reference == created["reference"] for entry in log)
    assert [e.query for e in log if e.kind == "national_number"] == ["*********28"]
    assert not any("850730" in e.query for e in log)


async def test_a_reporter_the_directory_does_not_know_is_said_so_and_logged_as_nobody(
    site: TestClient[Any, Any],
) -> None:
    created = await post(site, {**TILE, "reporter": {"email": "onbekend@example.be"}})
    assert (await login(site, "an")).status == 303
    page = await (await site.get(f"/desk/meldingen/{created['id']}")).text()
    assert "Niet gevonden in de directory." in page
    [entry] = await _log(store_of(site))
    expected = ("an", "email", "onbekend@example.be", None)
    assert (entry.operator, entry.kind, entry.query, entry.person_id) == expected


async def test_caller_id_shows_who_called_on_a_phone_melding(site: TestClient[Any, Any]) -> None:
    record = phone.call(call_id="call-dir-1", caller_number="0471 98 76 54", reporter=...)
    answer = await phone.post(site, record)
    assert answer.status in (200, 201, 202), await answer.text()
    reference = (await answer.json())["reference"]
    assert (await login(site, "an")).status == 303
    page = await (await site.get(f"/desk/meldingen/{reference}")).text()
    assert "Wie belt (nummerherkenning)" in page
    assert "An Vermeulen" in page and "Kortrijksestraat 7" in page and "8501 Heule" in page
    [entry] = await _log(store_of(site))
    assert (entry.operator, entry.kind, entry.query, entry.person_name) == (
        "an",
        "caller_id",
        "+32471987654",
        "An Vermeulen",
    )


# --------------------------------------------------------------------------------- the access log


async def test_only_an_admin_reads_who_looked_up_whom(site: TestClient[Any, Any]) -> None:
    created = await post(site, {**TILE, "reporter": {"email": "jan.peeters@example.be"}})
    assert (await login(site, "an")).status == 303
    assert (await site.get(f"/desk/meldingen/{created['id']}")).status == 200
    refused = await site.get("/desk/directory/log")
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "admin_only"
    assert "Opzoekingen" not in await (await site.get("/desk/triage")).text()

    site.session.cookie_jar.clear()
    assert (await login(site, "chef")).status == 303
    page = await (await site.get("/desk/directory/log")).text()
    assert "Opzoekingen" in page and created["reference"] in page
    assert '<td class="operator">an</td>' in page and '<td class="person">Jan Peeters</td>' in page
    only_chef = await (await site.get("/desk/directory/log?operator=chef")).text()
    assert 'id="empty"' in only_chef


async def test_the_access_log_needs_a_login(site: TestClient[Any, Any]) -> None:
    answer = await site.get("/desk/directory/log", allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"].startswith("/desk/login")


async def test_a_very_long_e_mail_address_is_looked_up_and_logged_cut_to_its_column(
    site: TestClient[Any, Any],
) -> None:
    address = "a" * 250 + "@example.be"  # the API takes up to 320 characters, the log's column 254
    created = await post(site, {**TILE, "reporter": {"email": address}})
    assert (await login(site, "an")).status == 303
    assert (await site.get(f"/desk/meldingen/{created['id']}")).status == 200
    [entry] = await _log(store_of(site))
    assert entry.query == address[:254] and entry.person_id is None
