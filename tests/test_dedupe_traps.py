"""Issue 14 item 2/3: the traps behind probe2's false links, each as meldingen through one in-memory
index. Different problems at one spot that route to one dienst (a zebra crossing's paint and the
lamp above it, a sign at the traffic lights, the bin beside a bench), the same kind on the
neighbouring street, cause and consequence at one house (a blocked gully, a flooded cellar), the
same kind weeks later. None of them is linked automatically; where they are plausible the desk
gets a suggestion. True duplicates beside them still link."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.classify.rules import normalize_text
from gateway.dedupe import kinds
from gateway.dedupe.finder import Deduper, Outcome
from gateway.dedupe.text import AGAIN
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import Feed, linked

# Real points (tests/corpora/kortrijk-addresses, config/addresses.csv).
VOLKSPLEIN_CROSSING = (50.82041, 3.27199)  # beside the address point Volksplein 1-47
TOEKOMSTSTRAAT_47 = (50.821748, 3.271553)  # 160 m from Boerderijstraat 49
WAGENMAKERSSTRAAT_57 = (50.81926, 3.27310)  # 80 m from Volksplein 18
SCHOUWBURGPLEIN = (50.82610, 3.26668)
DOORNIKSEWIJK_CROSSING = (50.82238, 3.26902)
SINT_ANTONIUSSTRAAT_59 = (50.82433, 3.27470)  # beside the address point Sint-Antoniusstraat 59-81
TOEKOMSTSTRAAT_19 = (50.82168, 3.27022)
RIJSELSESTRAAT_37 = (50.82748, 3.26282)
WANDELINGSTRAAT_40 = (50.82592, 3.27770)


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


k = kinds_of  # short: the tests below compare many texts


def suggested(outcome: Outcome) -> list[str]:
    return [s.candidate_id for s in outcome.suggestions]


def test_an_object_named_as_the_place_is_not_the_problem() -> None:
    # "aan de verkeerslichten": the sign is the problem, the lights say where.
    assert k("signalisatie", "voorrangsbord aan de verkeerslichten is omvergereden") == {
        "signalisatie.bord",
        "signalisatie.voorrang",
    }
    # Routed to wegen, a bin beside a bench: the bench is the place, the bin (Nette Stad's) the problem.
    assert k("wegen", "de vuilbak naast de bank op het schouwburgplein is kapot") == {
        "nette_stad.vuilbak_kapot"
    }
    # Named alone, the object is the problem after all.
    assert k("wegen", "zitbank aan de kerk is kapot") == {"wegen.zitbank"}
    # The crossing is where; its paint and its lamp are two problems.
    assert k("signalisatie", "lamp aan het zebrapad brandt niet") == {
        "signalisatie.lamp",
        "signalisatie.zebrapad",
    }
    assert k("signalisatie", "zebrapad is bijna volledig weggesleten") == {
        "signalisatie.markering",
        "signalisatie.zebrapad",
    }
    # A crossing with no problem word: its paint, what is usually wrong with one.
    assert k("signalisatie", "zebrapad op het volksplein, gevaarlijk") == {
        "signalisatie.markering",
        "signalisatie.zebrapad",
    }


def test_a_lamp_routes_to_signalisatie_only_at_a_crossing() -> None:
    assert kinds.problem_diensten(normalize_text("de lamp in onze straat brandt niet"))[0][0] == "verlichting"
    hint = kinds.problem_diensten(normalize_text("the light above the pedestrian crossing is out"))
    assert hint[0][0] == "signalisatie"


def test_a_zebra_crossings_paint_and_the_lamp_above_it_are_two_problems(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(
        "Het zebrapad aan de schoolpoort is bijna volledig weggesleten",
        "signalisatie",
        pin=VOLKSPLEIN_CROSSING,
    )
    lamp = feed(
        "De lamp boven de oversteekplaats op het Volksplein brandt niet meer",
        "signalisatie",
        at=timedelta(days=3),
    )
    assert linked(lamp) is None, lamp.best_reason
    assert "different problems? lamp vs markering" in (lamp.best_reason or "")
    english = feed(
        "The light above the pedestrian crossing is out",
        "signalisatie",
        pin=VOLKSPLEIN_CROSSING,
        at=timedelta(days=4),
    )
    assert linked(english) == "m2", english.best_reason  # the lamp, told again in English


def test_a_sign_at_the_traffic_lights_is_not_the_traffic_lights(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Het verkeerslicht voor fietsers blijft altijd op rood", "signalisatie", pin=DOORNIKSEWIJK_CROSSING)
    sign = feed(
        "voorrangsbord aan de verkeerslichten doorniksewijk kanonstraat is omvergereden",
        "signalisatie",
        at=timedelta(hours=15),
    )
    assert linked(sign) is None and suggested(sign) == []
    lights = feed(
        "Traffic light for cyclists stuck on red",
        "signalisatie",
        pin=DOORNIKSEWIJK_CROSSING,
        at=timedelta(days=1),
    )
    assert linked(lights) == "m1", lights.best_reason


def test_the_bin_beside_a_broken_bench_is_another_problem(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Zitbank vernield, twee planken zijn losgerukt", "wegen", pin=SCHOUWBURGPLEIN)
    bin_ = feed("vuilbak naast de bank op het schouwburgplein is kapot", "wegen", at=timedelta(hours=4))
    assert linked(bin_) is None, bin_.best_reason
    bench = feed(
        "the bench on the square is broken, slats missing", "wegen", pin=SCHOUWBURGPLEIN, at=timedelta(days=1)
    )
    assert linked(bench) == "m1", bench.best_reason


def test_a_missed_collection_in_the_next_street_is_only_suggested(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("PMD-zakken niet opgehaald", "afvalophaling", street="Boerderijstraat", house_number="49")
    next_street = feed(
        "Blue bags not collected this morning", "afvalophaling", pin=TOEKOMSTSTRAAT_47, at=timedelta(hours=2)
    )
    assert linked(next_street) is None, next_street.best_reason
    assert suggested(next_street) == ["m1"]  # the desk may know it was one round
    assert "Boerderijstraat" in (next_street.best_reason or "") and "Toekomststraat" in (
        next_street.best_reason or ""
    )
    same_street = feed("pmd niet opgehaald toekomststraat 45", "afvalophaling", at=timedelta(hours=3))
    assert linked(same_street) == "m2", same_street.best_reason

    other = Feed(deduper)
    other("Blue bags left on the pavement", "afvalophaling", pin=WAGENMAKERSSTRAAT_57)
    volksplein = other("PMD niet opgehaald", "afvalophaling", street="Volksplein", house_number="18")
    assert linked(volksplein) is None and suggested(volksplein) == ["m1"], volksplein.best_reason


def test_a_blocked_gully_and_a_flood_at_one_house_are_cause_and_consequence(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(
        "Straatkolk voor de deur is verstopt", "riolering", street="Voorzienigheidsstraat", house_number="57"
    )
    cellar = feed(
        "na de onweersbui is de kelder ondergelopen, Voorzienigheidsstraat 59",
        "riolering",
        at=timedelta(days=5),
    )
    assert linked(cellar) is None
    assert suggested(cellar) == ["m1"] and "kolk" in (cellar.best_reason or "")
    french = feed(
        "la cave du numéro 59 de la Voorzienigheidsstraat est inondée",
        "riolering",
        at=timedelta(days=5, hours=2),
    )
    assert linked(french) == "m2", french.best_reason
    both = feed(
        "water blijft staan want de kolk is verstopt, Voorzienigheidsstraat 57",
        "riolering",
        at=timedelta(days=6),
    )
    assert linked(both) in {"m1", "m2"}, both.best_reason  # names both: one of the two problems


def test_broken_again_weeks_later_is_for_the_desk_still_broken_links(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp brandt niet", "verlichting", street="Kanonstraat", house_number="54")
    again = feed("straatlamp kanonstraat 54 is weer kapot", "verlichting", at=timedelta(days=12))
    assert linked(again) is None and suggested(again) == ["m1"], again.best_reason
    still = feed("straatlamp kanonstraat 54 brandt nog steeds niet", "verlichting", at=timedelta(days=13))
    assert linked(still) == "m2", still.best_reason  # the failure that is open now


def test_another_pile_late_in_the_window_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Matras en een zetel gedumpt op het voetpad", "nette_stad", street="Kongoweg", house_number="8")
    same_pile = feed("matras gedumpt kongoweg 8", "nette_stad", at=timedelta(days=1))
    assert linked(same_pile) == "m1", same_pile.best_reason
    other = feed("Kartonnen dozen en een oud tapijt gedumpt, Kongoweg 8", "nette_stad", at=timedelta(days=12))
    assert linked(other) is None, other.best_reason


def test_again_means_repaired_in_between_still_does_not() -> None:
    again = [
        "straatlamp kanonstraat 54 brandt weer niet",
        "de put is er terug na de herstelling",
        "opnieuw graffiti gespoten op de muur",
        "nieuwe tags op de gevel",
        "street light broken again",
    ]
    still = ["lamp brandt nog steeds niet", "still broken", "weer een mail over de lamp", "de lamp is kapot"]
    assert [AGAIN.search(normalize_text(t)) is not None for t in again] == [True] * len(again)
    assert [AGAIN.search(normalize_text(t)) is None for t in still] == [True] * len(still)


def test_water_standing_by_a_blocked_gully_is_the_gully_not_a_flood(deduper: Deduper) -> None:
    # The symptom words of a gully named with it say nothing of a flood; a cellar under water does.
    assert k("riolering", "Kolk is verstopt, het water blijft staan") == {"riolering.kolk"}
    assert k("riolering", "water blijft staan in de straat") == {"riolering.wateroverlast"}
    assert k("riolering", "kolk verstopt, de straat staat onder water") == {
        "riolering.kolk",
        "riolering.wateroverlast",
    }
    feed = Feed(deduper)
    feed("Kolk is verstopt, het water blijft staan", "riolering", street="Meensesteenweg", house_number="401")
    cellar = feed(
        "haar kelder staat onder water, Meensesteenweg 401 in Bissegem", "riolering", at=timedelta(hours=5)
    )
    assert linked(cellar) is None and suggested(cellar) == ["m1"], cellar.best_reason
    gully = feed("rioolkolk verstopt meensesteenweg 401 bissegem", "riolering", at=timedelta(days=1))
    assert linked(gully) == "m1", gully.best_reason


def test_a_bare_house_number_after_a_french_or_english_cue(deduper: Deduper) -> None:
    # "Somewhere on the Sint-Denijsestraat" would link to any lamp on it; the number places it.
    place = deduper.locator.from_text("le lampadaire devant le 133 de la Sint-Denijsestraat ne s'allume plus")
    assert (place.street, place.house_number) == ("Sint-Denijsestraat", "133")
    place = deduper.locator.from_text("l'éclairage ne fonctionne plus devant le 35 faubourg de Tournai")
    assert (place.street, place.house_number) == ("Doorniksewijk", "35")
    assert deduper.locator.from_text("Streetlight out in front of 54 Kanonstraat").house_number == "54"
    # An ordinal or a time is no house number.
    assert deduper.locator.from_text("devant le 2e immeuble de la Kanonstraat").house_number is None
    assert deduper.locator.from_text("lamp out on Kanonstraat, outside 2pm").house_number is None
    feed = Feed(deduper)
    feed("Straatlicht is stuk", "verlichting", street="Sint-Denijsestraat", house_number="133")
    feed("Lamp uit", "verlichting", street="Sint-Denijsestraat", house_number="168", at=timedelta(hours=20))
    french = feed(
        "Bonjour, le lampadaire devant le 133 de la Sint-Denijsestraat ne s'allume plus.",
        "verlichting",
        at=timedelta(days=4),
    )
    assert linked(french) == "m1", french.best_reason


def test_across_the_street_the_address_points_decide_not_the_numbers(deduper: Deduper) -> None:
    # Loofstraat 61 and 54 are seven numbers apart, but odd and even need not run level: the
    # register places them 90 m apart, two potholes. On one side the numbers still decide.
    feed = Feed(deduper)
    feed("Diepe put in het wegdek", "wegen", street="Loofstraat", house_number="61")
    across = feed("put in de weg loofstraat 54", "wegen", at=timedelta(days=2))
    assert linked(across) is None, across.best_reason
    same_side = feed("gat in de weg voor loofstraat 63", "wegen", at=timedelta(days=3))
    assert linked(same_side) == "m1", same_side.best_reason


KANONSTRAAT_54 = (50.82271, 3.26948)
KANONSTRAAT_12 = (50.82281, 3.27162)  # 150 m east of nr 54


def test_somewhere_on_a_street_with_two_such_problems_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Lantaarnpaal brandt niet meer", "verlichting", pin=KANONSTRAAT_54)
    one = feed("lamp kapot in de kanonstraat", "verlichting", at=timedelta(hours=3))
    assert linked(one) == "m1", one.best_reason  # one lamp out on the street: that one
    second = feed(
        "Lamp uit, het hele stuk is donker", "verlichting", pin=KANONSTRAAT_12, at=timedelta(hours=5)
    )
    # It meets m1 only through "in de kanonstraat"; m1's own pin is 150 m off: another lamp?
    assert linked(second) is None and suggested(second) == ["m1"], second.best_reason
    assert "placed elsewhere" in (second.best_reason or "")
    which = feed("straatlamp kapot kanonstraat", "verlichting", at=timedelta(hours=8))
    assert linked(which) is None, which.best_reason
    assert sorted(suggested(which)) == ["m1", "m3"] and "fits as well" in (which.best_reason or "")
    numbered = feed("lamp kapot kanonstraat 54", "verlichting", at=timedelta(hours=9))
    assert linked(numbered) == "m1", numbered.best_reason  # the number tells them apart


def test_two_reports_of_one_problem_are_no_rivals(deduper: Deduper) -> None:
    # A pin on the Pijlstraat and "in de Pijlstraat", not linked to each other, are one spot:
    # a third report is not held back by the pair.
    feed = Feed(deduper)
    feed("Hello, there is a deep pothole in Pijlstraat, please fix it", "wegen")
    feed("Diepe put, gevaarlijk", "wegen", pin=(50.81978, 3.2717), at=timedelta(days=1))
    third = feed("gat pijlstraat nog niet hersteld", "wegen", at=timedelta(days=2))
    assert linked(third) is not None, third.best_reason


def test_ice_two_weeks_later_is_a_new_frost_the_same_morning_links(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Voetpad is een ijsbaan, al twee mensen gevallen", "wegen", pin=SINT_ANTONIUSSTRAAT_59)
    same_morning = feed(
        "ijzel op het voetpad, spiegelglad", "wegen", pin=SINT_ANTONIUSSTRAAT_59, at=timedelta(hours=4)
    )
    assert linked(same_morning) == "m1", same_morning.best_reason
    next_frost = feed(
        "Spiegelglad, niet gestrooid", "wegen", pin=SINT_ANTONIUSSTRAAT_59, at=timedelta(days=14)
    )
    assert linked(next_frost) is None, next_frost.best_reason


def test_the_text_says_the_earlier_one_was_dealt_with() -> None:
    dealt_with = [
        "het voorrangsbord is opnieuw omvergereden, het was pas rechtgezet",
        "nieuwe graffiti, de vorige tags waren vorige week net weggewerkt",
        "vorige keer werd het geveegd maar nu ligt het er terug",
        "the sign had been fixed last week",
        "le panneau avait ete repare",
        "het bord is terug omver gereden",
        "verkeersbord hangt weer scheef, vorige maand ook al",
    ]
    not_dealt_with = [
        "de bank is nog altijd niet hersteld",
        "de graffiti is nog altijd niet verwijderd",
        "the sign has not been fixed",
        "wanneer wordt de lamp hersteld",
        "put nog altijd niet gemaakt, opnieuw een fietser gevallen",  # still open: another fall
    ]
    assert [AGAIN.search(normalize_text(t)) is not None for t in dealt_with] == [True] * len(dealt_with)
    assert [AGAIN.search(normalize_text(t)) is None for t in not_dealt_with] == [True] * len(not_dealt_with)


def test_a_sign_knocked_over_again_weeks_later_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Voorrangsbord op de hoek staat scheef", "signalisatie", street="Toekomststraat", house_number="19")
    again = feed(
        "Het voorrangsbord op de hoek is opnieuw omvergereden, het was pas rechtgezet",
        "signalisatie",
        pin=TOEKOMSTSTRAAT_19,
        at=timedelta(days=40),
    )
    assert linked(again) is None and suggested(again) == ["m1"], again.best_reason


def test_a_broken_pavement_in_french_is_not_the_broken_bench_beside_it(deduper: Deduper) -> None:
    assert k("wegen", "Trottoir cassé devant le numéro 37, on trébuche") == {"wegen.tegel"}
    assert k("wegen", "Sunken pavement, tiles sloping") >= {"wegen.tegel"}
    feed = Feed(deduper)
    feed("Zitbank kapot, de rugleuning is eraf", "wegen", pin=RIJSELSESTRAAT_37)
    pavement = feed(
        "Trottoir cassé devant le numéro 37, on trébuche",
        "wegen",
        pin=RIJSELSESTRAAT_37,
        at=timedelta(days=1),
    )
    assert linked(pavement) is None, pavement.best_reason


def test_the_desks_belt_voor_names_what_the_call_is_about(deduper: Deduper) -> None:
    note = "Mevrouw Lambrecht, Wandelingstraat 40, belt voor een wespennest in de haag van de buren."
    assert k("dieren", note) == {"dieren.insecten", "dieren.wesp"}
    assert k("wegen", "de vuilbak voor de bank is kapot") == {"nette_stad.vuilbak_kapot"}  # still a place
    feed = Feed(deduper)
    feed("Wespen in de haag voor het huis, er zit een groot nest", "dieren", pin=WANDELINGSTRAAT_40)
    call = feed(note, "dieren", at=timedelta(hours=6))
    assert linked(call) == "m1", call.best_reason
