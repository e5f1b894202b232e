"""Issue 14, twelfth round (stream_dev11): the ways people write in the issue's styles. West-Flemish
and old spellings of a street ("toekomststraete", "doorniksewyk"), abbreviated first names ("Fil.",
"Ov."), "aan t belfort"; a reply's quoted history and "Re:" subject are not the reporter's own words;
colloquial, French and English problem words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.dedupe.finder import Deduper
from gateway.dedupe.locate import Locator
from tests.support.dedupe import shipped_deduper
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
