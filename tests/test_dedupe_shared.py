"""Issue 14 item 2/3, fourth round: problems two diensten both receive, parts of an object, full
glass banks, more names of landmarks (see docs/duplicates-rounds.md, "Fourth round")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.dedupe.finder import Deduper
from gateway.dedupe.shared import partners
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import Feed, linked

# Real points (tests/corpora/kortrijk-addresses, config/addresses.csv), moved as a pin would be.
VOLKSPLEIN_CROSSING = (50.82049, 3.27205)
KANONSTRAAT_54 = (50.82262, 3.26945)
BISSEGEM_GLASBOLLEN = (50.82321, 3.22697)


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


k = kinds_of  # short: the tests below compare many texts


def test_the_lamp_at_a_crossing_meets_its_twin_routed_to_the_other_dienst(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("De lamp boven het zebrapad brandt niet meer", "verlichting", pin=VOLKSPLEIN_CROSSING)
    twin = feed(
        "De verlichting aan de oversteekplaats op het Volksplein is uit, gevaarlijk voor de kinderen",
        "signalisatie",
        at=timedelta(hours=14),
    )
    assert linked(twin) == "m1", twin.best_reason
    assert "reported to verlichting" in (twin.best_reason or "")


def test_traffic_lights_never_meet_a_street_light(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp brandt niet", "verlichting", pin=VOLKSPLEIN_CROSSING)
    lights = feed("Verkeerslichten staan constant op rood", "signalisatie", pin=VOLKSPLEIN_CROSSING)
    assert linked(lights) is None and lights.suggestions == ()


def test_a_branch_routed_to_wegen_meets_the_one_routed_to_groen(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Grote afgebroken tak ligt op de rijweg na de storm", "groen", pin=KANONSTRAAT_54)
    branch = feed(
        "Tak blokkeert de weg, auto's moeten omrijden",
        "wegen",
        street="Kanonstraat",
        house_number="54",
        at=timedelta(hours=1),
    )
    assert linked(branch) == "m1", branch.best_reason
    pothole = feed(
        "Diep gat in de rijbaan", "wegen", street="Kanonstraat", house_number="54", at=timedelta(hours=2)
    )
    assert linked(pothole) is None and pothole.suggestions == ()


def test_the_lid_of_a_gully_is_not_the_gully(deduper: Deduper) -> None:
    lid = k("riolering", "het deksel van de rioolput voor nummer 61 ligt los en klappert")
    assert "riolering.deksel" in lid and "riolering.kolk" not in lid
    for text in (
        "the cover of the drain is loose and rattles",
        "la grille de l'avaloir est cassée, elle claque",
    ):
        assert k("riolering", text) == {"riolering.deksel"}, text
    assert "riolering.kolk" in k("riolering", "rioolput verstopt, het water blijft staan")
    feed = Feed(deduper)
    feed(
        "Straatkolk is verstopt, het water blijft staan", "riolering", street="Loofstraat", house_number="61"
    )
    cover = feed(
        "Het deksel van de rioolput voor Loofstraat 61 ligt los",
        "riolering",
        street="Loofstraat",
        house_number="61",
        at=timedelta(hours=5),
    )
    assert linked(cover) is None, cover.best_reason


def test_full_glass_banks_and_dumping_beside_them_are_two_problems(deduper: Deduper) -> None:
    assert "nette_stad.glasbol_vol" in k("nette_stad", "Bottle banks in Bissegem overflowing")
    feed = Feed(deduper)
    feed("Glasbollen zitten vol, glas staat ernaast", "nette_stad", pin=BISSEGEM_GLASBOLLEN)
    dump = feed(
        "iemand heeft een tv en dozen gedumpt aan de glasbollen in bissegem",
        "nette_stad",
        at=timedelta(days=2),
    )
    assert linked(dump) is None, dump.best_reason
    full = feed(
        "les bulles a verre de Bissegem sont pleines",
        "nette_stad",
        pin=BISSEGEM_GLASBOLLEN,
        at=timedelta(days=1),
    )
    assert linked(full) == "m1", full.best_reason
    # Routed to the collector, who empties them: the same full glass banks.
    collector = feed("bottle banks in Bissegem full again", "afvalophaling", at=timedelta(days=1, hours=2))
    assert linked(collector) == "m1", collector.best_reason
    assert "reported to nette_stad" in (collector.best_reason or "")


def test_the_station_car_park_in_english(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Een hoop vuilniszakken en een oude zetel achtergelaten", "nette_stad", pin=(50.82491, 3.26037))
    english = feed(
        "Fly-tipping at the station car park: bin bags and an old sofa", "nette_stad", at=timedelta(days=1)
    )
    assert english.place.lat is not None, english.place
    assert linked(english) == "m1", english.best_reason


@pytest.mark.parametrize(
    ("dienst", "text", "kind"),
    [
        ("verlichting", "streetlight out since Monday", "verlichting.uit"),
        ("verlichting", "l'éclairage public est en panne", "verlichting.uit"),
        ("verlichting", "lamp post damaged by a van", "verlichting.paal"),
        ("verlichting", "luminaire cassé devant le 12", "verlichting.paal"),
        ("wegen", "loose cobbles on the square", "wegen.tegel"),
        ("wegen", "pavés déchaussés sur le trottoir", "wegen.tegel"),
        ("nette_stad", "broken glass on the cycle path", "nette_stad.scherven"),
        ("nette_stad", "verres brisés partout sur la piste cyclable", "nette_stad.scherven"),
        ("groen", "herbe pas tondue depuis des semaines", "groen.gras"),
        ("signalisatie", "the traffic mirror at the corner is broken", "signalisatie.spiegel"),
        ("riolering", "égout bouché devant la maison", "riolering.kolk"),
        ("wegen", "the cycle path is full of holes", "wegen.put"),
        ("wegen", "tree roots lifting the pavement, very bumpy", "wegen.tegel"),
        ("signalisatie", "le feu pour piétons ne fonctionne pas", "signalisatie.verkeerslicht"),
        ("nette_stad", "abandoned bike chained to the sign", "nette_stad.weesfiets"),
    ],
)
def test_the_same_problem_in_french_and_english(dienst: str, text: str, kind: str) -> None:
    assert kind in k(dienst, text)


def test_a_landmark_is_no_neighbouring_street(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Dame belt: zitbank aan het belfort is kapot, de planken zijn gebroken.", "wegen")
    pinned = feed(
        "Broken bench near the belfry, planks snapped", "wegen", pin=(50.82779, 3.26705), at=timedelta(days=1)
    )
    assert linked(pinned) == "m1", pinned.best_reason


def test_a_street_light_searches_signalisatie_only_at_a_crossing(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("De verlichting aan de oversteekplaats is uit", "signalisatie", pin=VOLKSPLEIN_CROSSING)
    twin = feed(
        "De lamp boven het zebrapad brandt niet meer",
        "verlichting",
        pin=VOLKSPLEIN_CROSSING,
        at=timedelta(hours=3),
    )
    assert linked(twin) == "m1", twin.best_reason
    plain = feed("Straatlamp brandt niet", "verlichting", pin=VOLKSPLEIN_CROSSING, at=timedelta(hours=4))
    assert linked(plain) == "m1"  # through the verlichting twin, found in its own dienst
    assert partners("verlichting", plain.kinds) == []  # no crossing named: no second lookup
