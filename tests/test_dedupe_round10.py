"""Issue 14, tenth round: a report at a corner ("lamp uit in de Aalbeeksesteenweg aan t kruispunt
met de Tacklaan") names which end of its street; a report of the kind pinned or numbered far from
that crossing is another spot, so the two are at most a suggestion (gateway.dedupe.corner). And
English "near number 20" is a house number, as "near no. 20" is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.dedupe.finder import Deduper
from gateway.dedupe.records import Entry
from tests.support.dedupe import shipped_deduper
from tests.test_dedupe import T0, Feed, linked

# The bus stop on the Aalbeeksesteenweg: 15 m from its address point 23-31, the south end, some 300 m
# from the Minister Tacklaan's nearest address point (stream_dev9's d9-001).
BUS_STOP = (50.820855, 3.258424)
# At the north end of the Aalbeeksesteenweg (past its address point 2-54), towards the Tacklaan.
NORTH_END = (50.8224, 3.2587)
CORNER_SMS = "lamp uit in de aalbeeksesteenweg aan t kruispunt met de tacklaan"


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


def _key(deduper: Deduper, name: str) -> str:
    return next(s.key for s in deduper.register.streets.values() if s.name == name and s.kind == "street")


def test_a_corner_names_the_crossing_street(deduper: Deduper) -> None:
    place = deduper.locator.from_text(CORNER_SMS)
    assert place.street == "Aalbeeksesteenweg"
    assert place.corner_key == _key(deduper, "Minister Tacklaan")


@pytest.mark.parametrize(
    "text",
    [
        "lamp uit in de aalbeeksesteenweg, ook eentje in de tacklaan",  # two streets, no corner
        "lamp uit aalbeeksesteenweg 25 aan de hoek met de tacklaan",  # a number says more
        "lamp uit in de aalbeeksesteenweg",
    ],
)
def test_no_crossing_without_a_corner_word_or_with_a_number(deduper: Deduper, text: str) -> None:
    assert deduper.locator.from_text(text).corner_key is None


def test_a_pin_far_from_the_corner_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Lamp uit aan de bushalte.", "verlichting", pin=BUS_STOP)
    sms = feed(CORNER_SMS, "verlichting", at=timedelta(days=4))
    assert linked(sms) is None, sms.best_reason
    assert [s.candidate_id for s in sms.suggestions] == ["m1"]
    why = "one names the corner with Minister Tacklaan, the other lies 303 m from it"
    assert why in (sms.best_reason or "")


def test_the_corner_reported_first_and_a_pin_far_from_it_later(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(CORNER_SMS, "verlichting")
    pin = feed("Lamp uit aan de bushalte.", "verlichting", pin=BUS_STOP, at=timedelta(days=2))
    assert linked(pin) is None, pin.best_reason
    assert "corner with Minister Tacklaan" in (pin.best_reason or "")


def test_a_problem_pinned_far_from_the_corner_through_a_vague_report(deduper: Deduper) -> None:
    """stream_dev9's d9-007: the sms meets the bus stop's lamp through another sms "on the street";
    that problem's pin is at the other end."""
    feed = Feed(deduper)
    feed("Lamp uit aan de bushalte.", "verlichting", pin=BUS_STOP)
    vague = feed("lamp aalbeeksesteenweg kapot aan de bushalte", "verlichting", at=timedelta(hours=13))
    assert linked(vague) == "m1", vague.best_reason
    sms = feed(CORNER_SMS, "verlichting", at=timedelta(days=4))
    assert linked(sms) is None, sms.best_reason
    assert "m1" in [s.candidate_id for s in sms.suggestions]


def test_a_pin_near_the_corner_still_links(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp brandt niet.", "verlichting", pin=NORTH_END)
    sms = feed(CORNER_SMS, "verlichting", at=timedelta(days=2))
    assert linked(sms) == "m1", sms.best_reason


def test_the_crossing_is_kept_with_the_report(deduper: Deduper) -> None:
    """The store keeps it in the signature, so that a worker judges a later pin against it."""
    key = _key(deduper, "Minister Tacklaan")
    entry = Entry("m1", "m1", "verlichting", T0, None, None, None, "x", None, frozenset(), "lamp", None, key)
    assert entry.signature()["c"] == key
    plain = Entry("m2", "m2", "verlichting", T0, None, None, None, "x", None, frozenset(), "lamp", None)
    assert "c" not in plain.signature()


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Broken bench on the Volksplein near number 20", "20"),
        ("Street light out on Volksplein, number 18", "18"),
    ],
)
def test_english_number_before_a_house_number(deduper: Deduper, text: str, number: str) -> None:
    """ "near number 20" says a house number as "near no. 20" does (stream_dev10's d10-111)."""
    place = deduper.locator.from_text(text)
    assert place.street == "Volksplein"
    assert place.house_number == number


def test_an_english_bench_by_number_links_by_its_number(
    deduper: Deduper,
) -> None:
    feed = Feed(deduper)
    feed("Bank is kapot, de zitplank is gebroken.", "wegen", street="Volksplein", house_number="18")
    en = feed("Broken bench on the Volksplein near number 20", "wegen", at=timedelta(days=1))
    assert linked(en) == "m1", en.best_reason
    assert "nrs 20/18" in (en.best_reason or "")
