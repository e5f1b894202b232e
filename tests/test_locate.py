"""Location extraction: the street register and what a melding's text, form or pin says."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.dedupe.geo import distance_m
from gateway.dedupe.locate import Locator, Place
from gateway.dedupe.register import RegisterError, StreetRegister, load_streets
from gateway.dedupe.register import main as register_main
from gateway.melding import Channel, Location, Melding, Reporter, Stage, Status
from tests.support.data import CORPORA, ROOT

DEELGEMEENTEN = {"Heule": "8501", "Bissegem": "8501", "Marke": "8510", "Aalbeke": "8511", "Bellegem": "8510"}
PARKO = CORPORA / "kortrijk-addresses" / "parko_parkeerautomaten_addresses.csv"


@pytest.fixture(scope="module")
def register() -> StreetRegister:
    return StreetRegister.from_files(ROOT / "config" / "streets.csv", ROOT / "config" / "addresses.csv")


@pytest.fixture(scope="module")
def locator(register: StreetRegister) -> Locator:
    return Locator(register, DEELGEMEENTEN)


def melding(text: str, **location: object) -> Melding:
    return Melding(
        id="m1",
        reference="1777-2026-000001",
        channel=Channel.WEB,
        received_at=datetime(2026, 10, 1, tzinfo=UTC),
        reporter=Reporter(),
        text=text,
        location=Location(**location),  # type: ignore[arg-type]
        status=Status.ONTVANGEN,
        stage=Stage.RECEIVED,
        tracking_token="t",
    )


def test_every_real_kortrijk_address_is_found_within_its_stated_uncertainty(locator: Locator) -> None:
    """151 real, messy Parko addresses ("Tuighuisstraat tov nr 14", "Meensesteenweg 401Bissegem")."""
    rows = list(csv.DictReader(PARKO.open(encoding="utf-8")))
    assert len(rows) == 151
    for row in rows:
        place = locator.from_text(row["adres"])
        assert place.has_point, (row["adres"], place.detail)
        assert place.lat is not None and place.lon is not None and place.radius_m is not None
        off = distance_m(place.lat, place.lon, float(row["lat"]), float(row["lon"]))
        assert off <= place.radius_m, (row["adres"], round(off), place.radius_m, place.detail)


@pytest.mark.parametrize(
    ("text", "street", "number"),
    [
        # typos
        ("ter hoogte van nr. 12 in de Kanonstrat ligt een tak", "Kanonstraat", "12"),
        ("licht in wagemakersstraat 60 is uit", "Wagenmakersstraat", "60"),
        ("Doorniksewyk 120 vuilbak", "Doorniksewijk", "120"),
        ("vuilbak overvol zwevegemstraat", "Zwevegemsestraat", None),
        # missing, extra or split street-type parts
        ("Graffiti aan de Minister Tack 15", "Minister Tacklaan", "15"),
        ("Put in de weg aan de Doornikse steenweg 77", "Doorniksesteenweg", "77"),
        ("Aan de Grote Marktstraat ligt glas", "Grote Markt", None),
        ("Loof straat nr 78 lamp uit", "Loofstraat", "78"),
        ("Hondenpoep in de Filips van de Elzas, aan nr 31", "Filips van de Elzaslaan", "31"),
        # abbreviations and a dropped title
        ("Sluikstort in de Kon. Albertstraat nr 5-9", "Koning Albertstraat", "5-9"),
        ("Er ligt een matras tegenover nummer 7 in de St-Denijsestraat", "Sint-Denijsestraat", "7"),
        ("Tegels los op het voetpad St Denijs straat 104", "Sint-Denijsestraat", "104"),
        ("graffiti Rijselsestr. 19", "Rijselsestraat", "19"),
        (
            "De lantaarnpaal aan de Vanden Peereboomlaan 60 is aangereden",
            "Minister Vanden Peereboomlaan",
            "60",
        ),
        ("glasbol in de burg. nolfstraat zit vol", "Burgemeester Nolfstraat", None),
        ("lamp kapot min liebaertln aan de colruyt", "Minister Liebaertlaan", None),
        # deelgemeenten
        ("lamp kapot kloosterstr marke aan nr 5", "Kloosterstraat", "5"),
        ("Meensesteenweg 401Bissegem put", "Meensesteenweg", "401"),
        # house numbers, ranges and where they stand
        ("Loofstraat 61-63: lamp brandt niet", "Loofstraat", "61-63"),
        ("Lamp kapot in de Loofstraat, ter hoogte van huisnummer 63", "Loofstraat", "63"),
        (
            "In de Vooruitgangsstraat? Ter hoogte van nr 37 ligt het voetpad vol bladeren.",
            "Vooruitgangsstraat",
            "37",
        ),
        (
            "Le lampadaire devant le numéro 102 Filips van de Elzaslaan ne fonctionne plus",
            "Filips van de Elzaslaan",
            "102",
        ),
        # "tegenover" / "thv" with a bare number, no "nr"
        ("put in de wagenmakersstraat tegenover 80", "Wagenmakersstraat", "80"),
        ("lamp tuighuisstraat thv 16 kapot", "Tuighuisstraat", "16"),
        # the French name of a street (register aliases)
        ("Poubelle qui déborde rue de Lille 19", "Rijselsestraat", "19"),
        ("nid-de-poule chaussée de Mouscron à Aalbeke", "Moeskroensesteenweg", None),
        # numbers that are no house numbers
        ("In de Kanonstraat al tegenover 3 weken een auto", "Kanonstraat", None),
        ("Er staat al 3 weken een auto in de Kanonstraat", "Kanonstraat", None),
        ("In de Loofstraat om 8 uur nog altijd donker", "Loofstraat", None),
    ],
)
def test_streets_and_house_numbers_in_free_text(
    locator: Locator, text: str, street: str, number: str | None
) -> None:
    place = locator.from_text(text)
    assert place.source == "text", place.detail
    assert place.street == street, place.detail
    assert place.house_number == number, place.detail
    assert 0 < place.confidence <= 1


def test_a_house_number_with_a_known_address_point_gives_a_precise_point(locator: Locator) -> None:
    near = locator.from_text("Straatlamp aan de Loofstraat 61 brandt niet")
    street_only = locator.from_text("Straatlamp in de Loofstraat brandt niet")
    assert near.radius_m is not None and street_only.radius_m is not None
    assert near.radius_m < 40 < street_only.radius_m
    assert near.confidence > street_only.confidence
    # the opposite side of the street: the anchor of this side is preferred
    even = locator.from_text("vuilbak overvol zwevegemsestraat 120")
    assert even.lat is not None and even.lon is not None
    assert distance_m(even.lat, even.lon, 50.82372894406142, 3.274047374230245) < 10  # nr 122, not 91-121


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("vuilbak vol aan het station", "Station Kortrijk"),
        ("aan het kanaal liggen zakken afval", "Kanaal Bossuit-Kortrijk"),
        ("Lampen uit aan de ingang van de stationsparking", "Centrumparking Station"),
        ("Graffiti op de Broeltorens", "Broeltorens"),
        ("Put in de Doorniksesteenweg, aan de Radio 2", "Doorniksesteenweg"),
    ],
)
def test_landmarks(locator: Locator, text: str, name: str) -> None:
    place = locator.from_text(text)
    assert place.street == name, place.detail


def test_a_house_number_after_a_landmark_belongs_to_the_street_in_its_name(locator: Locator) -> None:
    place = locator.from_text("De graffiti aan de parking Veemarkt (nr 26) is er nog altijd.")
    assert (place.street, place.house_number, place.landmark) == ("Veemarkt", "26", False)


def test_nothing_is_invented(locator: Locator) -> None:
    nothing = locator.from_text("Er is een probleem met de riolering, kom eens kijken")
    assert (nothing.source, nothing.street, nothing.lat) == ("none", None, None)
    assert "no street" in nothing.detail
    ambiguous = locator.from_text("in de Groeninge is een lamp kapot")
    assert ambiguous.source == "none" and ambiguous.lat is None
    assert "Groeningelaan" in ambiguous.detail and "Groeningestraat" in ambiguous.detail
    unknown = locator.from_text("Kapotte lamp in de Zonnebloemstraat 5, Heule")
    assert (unknown.street, unknown.house_number, unknown.registered) == ("Zonnebloemstraat", "5", False)
    assert unknown.lat is None and unknown.confidence < 0.5
    assert "not in the street register" in unknown.detail
    only_area = locator.from_text("Wateroverlast in Heule")
    assert (only_area.deelgemeente, only_area.street, only_area.lat) == ("Heule", None, None)
    assert only_area.confidence < 0.5
    # a street named "Dam" is a common word: lowercase, without a cue, it is no place
    assert locator.from_text("een dam gebouwd door bevers").source == "none"
    assert locator.from_text("Lamp kapot aan de Dam").street == "Dam"


def test_the_problem_location_wins_over_the_reporters_own_address(locator: Locator) -> None:
    place = locator.from_text("Ik woon in de Kanonstraat 5. In de Toekomststraat ligt een matras.")
    assert place.street == "Toekomststraat"
    signed = locator.from_text(
        "Beste,\nIn de Magdalenastraat ligt een matras op het voetpad.\n"
        "Met vriendelijke groeten,\nJan Claeys\nKanonstraat 5\n8500 Kortrijk"
    )
    assert signed.street == "Magdalenastraat"
    assert "Kanonstraat" in signed.detail  # named too, and said so


def test_form_and_app_locations_win_over_the_text(locator: Locator) -> None:
    pin = locator.locate(melding("Lamp kapot in de Kanonstraat 54", lat=50.8171, lon=3.2634))
    assert (pin.source, pin.lat, pin.lon, pin.radius_m) == ("pin", 50.8171, 3.2634, 25.0)
    assert pin.street is None  # the text's street is not the pin's
    form = locator.locate(melding("Lamp kapot in de Kanonstraat", street="Loofstraat", house_number="61"))
    assert (form.source, form.street, form.house_number) == ("address", "Loofstraat", "61")
    both = locator.locate(
        melding("lamp", street="Kon. Albertstraat", house_number="17", lat=50.8257, lon=3.2627)
    )
    assert (both.source, both.street, both.lat) == ("pin", "Koning Albertstraat", 50.8257)
    line = locator.locate(melding("lamp", address="Loofstraat 78, 8500 Kortrijk"))
    assert (line.source, line.street, line.house_number) == ("address", "Loofstraat", "78")
    unknown = locator.locate(melding("lamp", street="Nergensstraat", house_number="3"))
    assert (unknown.source, unknown.street, unknown.lat) == ("address", "Nergensstraat", None)


def test_register_file_mistakes_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "streets.csv"
    bad.write_text("name,postcode,lat,lon\nLoofstraat,8500,fifty,3.26\n", encoding="utf-8")
    with pytest.raises(RegisterError, match=r"streets.csv:2: lat 'fifty' is not a number"):
        load_streets(bad)
    bad.write_text("name,postcode\nLoofstraat,8500\n", encoding="utf-8")
    with pytest.raises(RegisterError, match="missing column"):
        load_streets(bad)
    bad.write_text("name,lat,lon\nLoofstraat,50.8,\n", encoding="utf-8")
    with pytest.raises(RegisterError, match="both lat and lon"):
        load_streets(bad)


def test_an_official_address_export_becomes_the_register(tmp_path: Path) -> None:
    export = tmp_path / "adressen.csv"
    export.write_text(
        "straatnaam;huisnummer;postcode;deelgemeente;lat;lon\n"
        "Abdijstraat;1;3001;Heverlee;50.8600;4.6900\n"
        "Abdijstraat;41;3001;Heverlee;50.8620;4.6930\n"
        "Abdijstraat;2;3001;Heverlee;50.8601;4.6902\n"
        "Naamsesteenweg;100;3001;Heverlee;50.8640;4.6950\n"
        "Naamsesteenweg;;3001;Heverlee;;\n",
        encoding="utf-8",
    )
    streets, points = tmp_path / "streets.csv", tmp_path / "addresses.csv"
    assert (
        register_main(
            ["build", str(export), "--streets", str(streets), "--points", str(points), "--delimiter", ";"]
        )
        == 0
    )
    built = StreetRegister.from_files(streets, points)
    assert sorted(s.name for s in built.streets.values()) == ["Abdijstraat", "Naamsesteenweg"]
    place = Locator(built).from_text("Put in de Abdijstr. aan nr 39, Heverlee")
    assert place.street == "Abdijstraat" and place.lat is not None and place.lon is not None
    assert distance_m(place.lat, place.lon, 50.8620, 4.6930) < 1  # the point of nr 41, the nearest
    assert place.deelgemeente == "Heverlee"


def test_a_leuven_register_finds_leuven_streets(tmp_path: Path) -> None:
    """Another city's full street list (names only) works as a register too."""
    source = CORPORA / "leuven-streets" / "leuven_streets.csv"
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    names = tmp_path / "streets.csv"
    with names.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "postcode", "deelgemeente", "lat", "lon"])
        for r in rows:
            w.writerow([r["straatnaam"], r["postcode"], r["deelgemeente"], "", ""])
    leuven = Locator(StreetRegister.from_files(names))
    assert len(leuven.register) > 900
    found = leuven.from_text("Sluikstort in de Adjudant Harboortstr. nr 3 in Heverlee")
    assert (found.street, found.house_number, found.lat) == ("Adjudant Harboortstraat", "3", None)
    assert isinstance(found, Place)
