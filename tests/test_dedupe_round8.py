"""Issue 14, eighth round (stream_dev8): house numbers on one side of a street decide against a pin
that meets a problem only through a rough address point; "weer sluikstort" (the problem named again,
no state word) says a new pile, so a report of it joins the newer problem at that spot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.classify.rules import normalize_text
from gateway.dedupe.finder import Deduper
from gateway.dedupe.text import AGAIN
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import Feed, linked

# Halfway (30 m from each) between the address points of Minister Tacklaan 99-119 and 51-93.
TACKLAAN_PIN = (50.823371, 3.260594)


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


def test_a_number_far_along_the_street_from_the_problems_own_number_is_for_the_desk(
    deduper: Deduper,
) -> None:
    feed = Feed(deduper)
    feed("De lamp voor ons huis brandt niet.", "verlichting", pin=TACKLAAN_PIN)
    sms = feed("min tacklaan 107 lamp uit", "verlichting", at=timedelta(hours=9))
    assert linked(sms) == "m1", sms.best_reason
    # Nr 75 lies in the register's range 51-93, whose point is 30 m from the pin: close enough for
    # that rough point, but 32 numbers (128 m) from nr 107 on the same side: another lamp.
    other = feed(
        "De lantaarnpaal in de Minister Tacklaan ter hoogte van nr 75 brandt niet.",
        "verlichting",
        at=timedelta(days=2),
    )
    assert linked(other) is None, other.best_reason
    assert [s.candidate_id for s in other.suggestions] == ["m1"]
    assert "its report m2 says nr 107" in (other.best_reason or "")
    # A neighbour of nr 107 is still the same lamp.
    near = feed("Lamp aan nummer 111 Minister Tacklaan is uit", "verlichting", at=timedelta(days=3))
    assert linked(near) == "m1", near.best_reason


def test_the_problem_named_again_is_a_repeat() -> None:
    def again(text: str) -> bool:
        return AGAIN.search(normalize_text(text)) is not None

    assert again("weer sluikstort in de Nieuwstraat")
    assert again("opnieuw graffiti op de gevel")
    assert again("alweer tags op de muur van de school")
    assert not again("nog steeds sluikstort in de Nieuwstraat")
    assert not again("graffiti op de gevel")


def test_a_dumping_again_joins_the_newer_pile_at_that_spot(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(
        "Zakken en een kapotte stoel op het voetpad gedumpt.",
        "nette_stad",
        street="Nieuwstraat",
        house_number="12",
    )
    sms = feed("sluikstort nieuwstraat 12", "nette_stad", at=timedelta(days=1))
    assert linked(sms) == "m1"
    second = feed(
        "Opnieuw zakken gedumpt op dezelfde plek als vorige week, het vorige werd netjes opgeruimd.",
        "nette_stad",
        street="Nieuwstraat",
        house_number="12",
        at=timedelta(days=11),
    )
    assert linked(second) is None, second.best_reason
    # "weer sluikstort" eleven days after the first pile and a day after the second: the second.
    call = feed(
        "Tel. dhr. Claeys: weer sluikstort in de Nieuwstraat ter hoogte van nr 10.",
        "nette_stad",
        at=timedelta(days=12),
    )
    assert linked(call) == "m3", call.best_reason


OVERLEIE_61_PIN = (50.833371, 3.259369)  # 15 m from the address point Overleiestraat 61
OVERLEIE_38_56_PIN = (50.833055, 3.260071)  # 15 m from the address point of the range 38-56


def test_a_number_placed_only_roughly_beyond_the_reach_is_for_the_desk(deduper: Deduper) -> None:
    # Nr 38 lies in the register's range 38-56, placed within 56 m; its point is 62 m from the pin:
    # one lamp or two (lamp posts stand 30-40 m apart)? Not an automatic link.
    feed = Feed(deduper)
    feed("Straatlamp brandt niet", "verlichting", pin=OVERLEIE_61_PIN)
    rough = feed("lamp Overleiestraat nr 38 brandt niet", "verlichting", at=timedelta(hours=5))
    assert linked(rough) is None, rough.best_reason
    assert [s.candidate_id for s in rough.suggestions] == ["m1"]
    assert "nr 38 placed only roughly" in (rough.best_reason or "")
    # The same number against a pin at its range's point is one spot.
    feed = Feed(deduper)
    feed("Straatlamp brandt niet", "verlichting", pin=OVERLEIE_38_56_PIN)
    near = feed("lamp Overleiestraat nr 38 brandt niet", "verlichting", at=timedelta(hours=5))
    assert linked(near) == "m1", near.best_reason


VEEMARKT_PARKING_PIN = (50.826524, 3.275179)  # 16 m from P Veemarkt, 122 m from Veemarkt 26


def test_a_landmark_stands_on_its_street(deduper: Deduper) -> None:
    where = deduper.locator.from_text
    assert where("le banc près du beffroi est cassé").street == "Belfort"
    assert where("Bench next to the belfry is broken").street == "Belfort"
    # A landmark on the street also named says where on it (not in the signature).
    committee = "Namens het buurtcomité Veemarkt: aan de ingang van parking Veemarkt liggen zakken huisvuil."
    assert where(committee).street == "P Veemarkt"
    assert where("Veemarkt 26, naast parking Veemarkt: zakken").street == "Veemarkt"
    # "At the belfry" and "on the Grote Markt" meet on that square.
    feed = Feed(deduper)
    feed("Bench next to the belfry is broken, one slat missing", "wegen", street="Grote Markt")
    sms = feed("bank aan het belfort kapot, plank eruit", "wegen", at=timedelta(days=1))
    assert linked(sms) == "m1", sms.best_reason
    assert "Belfort on Grote Markt" in (sms.best_reason or "")


def test_the_car_park_named_is_not_the_whole_street(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Hoop vuilniszakken tegen de gevel gezet.", "nette_stad", street="Veemarkt", house_number="26")
    feed(
        "Someone dumped garbage bags at the entrance of the Veemarkt car park",
        "nette_stad",
        pin=VEEMARKT_PARKING_PIN,
    )
    mail = feed(
        "Beste, Namens het buurtcomité Veemarkt: aan de ingang van parking Veemarkt liggen sinds gisteren "
        "een tiental zakken huisvuil. Vriendelijke groeten, Luc",
        "nette_stad",
        at=timedelta(hours=14),
    )
    assert linked(mail) == "m2", mail.best_reason


def test_words_that_named_nothing_in_the_eighth_round(deduper: Deduper) -> None:
    call = "Tel. dhr. Verhaeghe: straatlamp voor zijn deur al enkele dagen uit."
    assert kinds_of("verlichting", call) == {"verlichting.uit"}
    assert kinds_of("verlichting", "de lamp is al een week uit") == {"verlichting.uit"}
    assert kinds_of("verlichting", "the street light near the Broel towers is still off") == {
        "verlichting.uit"
    }
    # "uit de ..." is where from, not out.
    assert kinds_of("verlichting", "de lantaarnpaal werd uit de grond gereden") == frozenset()
    found = deduper.locator.from_text("straatlamp dam nr 75 is uit")
    assert (found.street, found.house_number) == ("Dam", "75")


def test_dumping_a_week_after_the_last_report_is_a_new_pile(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Vuilniszakken gedumpt op het voetpad", "nette_stad", street="Nieuwstraat", house_number="12")
    told = feed("sluikstort nieuwstraat 12, zakken", "nette_stad", at=timedelta(days=4))
    assert linked(told) == "m1", told.best_reason
    # Counted from the latest report (day 4): day 10 is the same pile, day 18 a new one.
    still = feed("Zakken gedumpt aan Nieuwstraat 12", "nette_stad", at=timedelta(days=10))
    assert linked(still) == "m1", still.best_reason
    later = feed("Zakken gedumpt aan Nieuwstraat 12", "nette_stad", at=timedelta(days=18))
    assert linked(later) is None, later.best_reason
