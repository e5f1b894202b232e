"""Issue 14, ninth round (stream_dev9): on a street many times the dienst's reach long, two reports
that meet only "somewhere on this street" are at most a suggestion, unless something else places
them together (reported within hours, the same spot named, "still", a kind at few spots)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.dedupe.finder import Deduper
from gateway.dedupe.longstreet import is_long, length_m, spots
from gateway.dedupe.text import content_string
from tests.support.dedupe import shipped_deduper
from tests.test_dedupe import Feed, linked

# 16 m from the address point of Doorniksewijk 21-39; nr 177 lies 500 m further south.
DOORNIKSEWIJK_29 = (50.821829, 3.268769)


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


def test_long_is_measured_on_the_register_against_the_dienst_reach(deduper: Deduper) -> None:
    streets = deduper.register.streets
    reaches = deduper.config.long_street_reaches
    wijk = next(s for s in streets.values() if s.name == "Doorniksewijk")
    nieuw = next(s for s in streets.values() if s.name == "Nieuwstraat")
    assert 600 < length_m(wijk) < 700 and length_m(nieuw) < 60
    assert is_long(wijk, 40, reaches)  # a lamp
    assert not is_long(nieuw, 40, reaches)
    assert not is_long(wijk, 250, reaches)  # a missed collection concerns the whole street


def test_a_lamp_somewhere_on_a_long_street_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp doet het niet meer.", "verlichting", pin=DOORNIKSEWIJK_29)
    sms = feed("lamp doorniksewijk kapot, ginder helemaal vanachter", "verlichting", at=timedelta(days=1))
    assert linked(sms) is None, sms.best_reason
    assert [s.candidate_id for s in sms.suggestions] == ["m1"]
    assert "Doorniksewijk is 645 m long (verlichting reaches 40 m)" in (sms.best_reason or "")
    assert "nothing places both near each other: the desk decides" in (sms.best_reason or "")


def test_on_a_short_street_the_street_still_links(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Lamp uit.", "verlichting", pin=(50.825381, 3.269466))  # Nieuwstraat
    sms = feed("lamp nieuwstraat kapot", "verlichting", at=timedelta(days=1))
    assert linked(sms) == "m1", sms.best_reason


def test_a_number_against_somewhere_on_a_long_street_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Diepe put voor de garage.", "wegen", street="Doorniksewijk", house_number="177")
    sms = feed("put in de doorniksewijk aan t begin, kant van de stad", "wegen", at=timedelta(days=3))
    assert linked(sms) is None, sms.best_reason
    assert [s.candidate_id for s in sms.suggestions] == ["m1"]


@pytest.mark.parametrize(
    ("first", "second", "at", "why"),
    [
        # The same spot named, in two languages.
        (
            "Lamp aan de apotheek brandt niet.",
            "the street light near the pharmacy on Doorniksewijk is out",
            timedelta(days=2),
            "both at the pharmacy",
        ),
        # Within hours: one fresh problem noticed twice.
        ("Straatlamp doet het niet meer.", "lamp doorniksewijk kapot", timedelta(hours=3), "3 h apart"),
        # "Still": a problem already reported.
        (
            "Straatlamp doet het niet meer.",
            "de lamp in de doorniksewijk brandt nog altijd niet",
            timedelta(days=4),
            "says still",
        ),
    ],
)
def test_something_else_placing_both_together_links(
    deduper: Deduper, first: str, second: str, at: timedelta, why: str
) -> None:
    feed = Feed(deduper)
    feed(first, "verlichting", pin=DOORNIKSEWIJK_29)
    out = feed(second, "verlichting", at=at)
    assert linked(out) == "m1", out.best_reason
    assert why in (out.best_reason or "")


def test_two_spots_named_on_one_long_street_are_not_one(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("vuilbak aan de bushalte in de zwevegemsestraat zit overvol", "nette_stad")
    other = feed(
        "De vuilbak voor de apotheek in de Zwevegemsestraat is vol.", "nette_stad", at=timedelta(days=1)
    )
    assert linked(other) is None, other.best_reason


def test_spots_are_named_in_three_languages() -> None:
    assert spots(content_string("aan de bushalte")) == {"busstop"}
    assert spots(content_string("près de la pharmacie")) == spots(content_string("voor de apotheek"))
    assert spots(content_string("next to the church")) == spots(content_string("aan de kerk"))
    assert spots(content_string("lamp kapot")) == frozenset()
