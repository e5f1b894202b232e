"""Issue 14, twelfth round (stream_dev11): the ways people write in the issue's styles. West-Flemish
and old spellings of a street ("toekomststraete", "doorniksewyk"), abbreviated first names ("Fil.",
"Ov."), "aan t belfort"; a reply's quoted history and "Re:" subject are not the reporter's own words;
colloquial, French and English problem words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.classify.rules import normalize_text
from gateway.dedupe.finder import Deduper
from gateway.dedupe.kinds import problem_diensten
from gateway.dedupe.locate import Locator
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import Feed, linked


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


@pytest.fixture(scope="module")
def locator(deduper: Deduper) -> Locator:
    return deduper.locator


@pytest.mark.parametrize(
    ("text", "street", "number"),
    [
        ("tegels los toekomststraete 21 al ne week", "Toekomststraat", 21),
        ("paaltje plat st denijsestraete 170", "Sint-Denijsestraat", 170),
        ("pmd nie meegenomen in de voorzienigheidsstroate", "Voorzienigheidsstraat", None),
        ("lamp kapot doorniksewyk 33 al een week", "Doorniksewijk", 33),
        ("matras ligt er nog in de kortryksestraat 22", "Kortrijksestraat", 22),
        ("verkeersbord ligt plat fil. vd elzaslaan 33", "Filips van de Elzaslaan", 33),
        ("put ov. leiestr thv 19 wordt alsmaar groter", "Overleiestraat", 19),
    ],
)
def test_west_flemish_old_and_abbreviated_street_spellings_are_found(
    locator: Locator, text: str, street: str, number: int | None
) -> None:
    place = locator.from_text(text)
    assert place.street == street, place.detail
    assert place.number == number


def test_a_final_y_is_no_old_ij(locator: Locator) -> None:
    assert locator.from_text("lamp kapot Lucky Lukestraat 3").street == "Lucky Lukestraat"


def test_aan_t_belfort_names_the_landmark(locator: Locator) -> None:
    assert locator.from_text("bank aan t belfort is kapot, plank los").street == "Belfort"


def test_a_west_flemish_sms_meets_the_form_report(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Tegels liggen los op het voetpad.", "wegen", street="Toekomststraat", house_number="19")
    sms = feed("tegels los toekomststraete 21 al ne week", "wegen", at=timedelta(days=1))
    assert linked(sms) == "m1", sms.best_reason


@pytest.mark.parametrize(
    ("dienst", "text", "kind"),
    [
        ("wegen", "dikke putte in de boerderijstr thv 51", "wegen.put"),
        ("groen", "dikke takke ligt op t voetpad", "groen.tak"),
        ("afvalophaling", "blauwe zakken nie meegenomen", "afvalophaling.niet_opgehaald"),
        ("nette_stad", "de zakjes puilen uit de vuilbak", "nette_stad.vuilbak_vol"),
        ("wegen", "Railing on the bridge is bent and hanging loose", "wegen.hek"),
        ("wegen", "la rambarde du pont est tordue", "wegen.hek"),
    ],
)
def test_colloquial_french_and_english_problem_words(dienst: str, text: str, kind: str) -> None:
    assert kind in kinds_of(dienst, text)


def test_a_railing_is_a_place_until_it_is_damaged() -> None:
    assert "wegen.hek" not in kinds_of("wegen", "pothole next to the railing of the bridge")


@pytest.mark.parametrize(
    ("text", "dienst"),
    [
        ("Bonjour, le réverbère en face du numéro 121 ne fonctionne plus depuis samedi.", "verlichting"),
        ("dikke putte in de boerderijstr thv 51, me velo zat er bijna in", "wegen"),
        ("Bonjour, la rambarde du pont est tordue et ne tient plus.", "wegen"),
    ],
)
def test_the_words_decide_the_dienst_where_routing_does_not(text: str, dienst: str) -> None:
    assert problem_diensten(normalize_text(text))[0][0] == dienst
