"""`GET /api/v1/addresses?q=`: fuzzy suggestions from the street register (config/streets.csv and
config/addresses.csv), for the form's address field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.dedupe.register import StreetRegister, load_streets
from gateway.http.addresses import MAX_RESULTS, AddressIndex
from tests.support.data import ROOT

Client = TestClient[Any, Any]
# The register is read once at start-up; the store plays no part here: one backend is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def suggest(client: Client, q: str, **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/addresses", params={"q": q, **params})
    assert answer.status == 200, await answer.text()
    return await answer.json()


@sqlite_only
@pytest.mark.parametrize(
    ("typed", "street"),
    [
        ("Doorniksest.", "Doorniksesteenweg"),  # an abbreviated street type
        ("doornikse stwg", "Doorniksesteenweg"),
        ("Budastrat", "Budastraat"),  # a typo
        ("grote mrkt", "Grote Markt"),
        ("conde dreef", "Condédreef"),  # without the accent, in two words
        ("Kon. Albertstraat", "Koning Albertstraat"),  # an abbreviated title
        ("sint amands", "Sint-Amandsplein"),  # the beginning, while typing
    ],
)
async def test_fuzzy_queries_find_the_street_first(client: Client, typed: str, street: str) -> None:
    found = await suggest(client, typed)
    assert found and found[0]["street"] == street, [f["label"] for f in found]
    first = found[0]
    assert set(first) == {"label", "street", "number", "postcode", "lat", "lon"}
    assert first["label"].startswith(street) and first["postcode"] in first["label"]


@sqlite_only
async def test_a_house_number_is_kept_and_placed_by_the_address_points(client: Client) -> None:
    found = await suggest(client, "Aalbeeksesteenweg 25")
    first = found[0]
    assert first["label"] == "Aalbeeksesteenweg 25, 8500 Kortrijk" and first["number"] == "25"
    # config/addresses.csv: numbers 23-31 of the Aalbeeksesteenweg are at 50.820855, 3.258211.
    assert (first["lat"], first["lon"]) == (50.820855, 3.258211)
    other = (await suggest(client, "Aalbeeksesteenweg 2"))[0]
    assert (other["lat"], other["lon"]) == (50.8222, 3.258438)


@sqlite_only
async def test_nonsense_finds_nothing(client: Client) -> None:
    assert await suggest(client, "qqxxzzvvw") == []


@sqlite_only
async def test_results_are_limited(client: Client) -> None:
    assert len(await suggest(client, "straat")) == MAX_RESULTS
    assert len(await suggest(client, "straat", limit="3")) == 3


@sqlite_only
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "a"},
        {"q": "   "},
        {"q": "x" * 101},
        {"q": "Budastraat", "limit": "0"},
        {"q": "Buda", "limit": "11"},
        {"q": "Buda", "limit": "tien"},
    ],
)
async def test_bad_queries_get_400_json(client: Client, params: dict[str, str]) -> None:
    answer = await client.get("/api/v1/addresses", params=params)
    assert answer.status == 400
    error = (await answer.json())["error"]
    assert error["code"] == "invalid_query" and error["field"] in ("q", "limit")


def test_an_unreadable_register_gives_no_suggestions_but_no_crash(tmp_path: Path) -> None:
    broken = Settings(
        dedupe_file=ROOT / "config" / "dedupe.toml", street_register_file=tmp_path / "missing.csv"
    )
    assert AddressIndex.from_settings(broken).search("Budastraat") == []


def test_every_street_of_the_register_finds_itself() -> None:
    register = StreetRegister(load_streets(ROOT / "config" / "streets.csv"))
    index = AddressIndex(register)
    for street in register.streets.values():
        assert street.name in [s.street.name for s in index.search(street.name)], street.name
