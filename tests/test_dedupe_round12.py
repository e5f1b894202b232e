"""Issue 14, twelfth round (stream_dev11): the ways people write in the issue's styles. West-Flemish
and old spellings of a street ("toekomststraete", "doorniksewyk"), abbreviated first names ("Fil.",
"Ov."), "aan t belfort"; a reply's quoted history and "Re:" subject are not the reporter's own words;
colloquial, French and English problem words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.classify.rules import normalize_text
from gateway.dedupe.finder import Deduper
from gateway.dedupe.geo import distance_m
from gateway.dedupe.kinds import problem_diensten
from gateway.dedupe.locate import Locator
from gateway.dedupe.ownwords import own_words
from gateway.melding import Channel, Location, Melding, Reporter, Stage, Status
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import T0, Feed, linked


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


def _mail(subject: str, text: str, dienst: str, at: timedelta) -> Melding:
    return Melding(
        id="mail",
        reference="mail",
        channel=Channel.EMAIL,
        received_at=T0 + at,
        reporter=Reporter(),
        subject=subject,
        text=text,
        location=Location(),
        dienst=dienst,
        status=Status.ONTVANGEN,
        stage=Stage.ROUTED,
        tracking_token="t",
    )


LAMP_THREAD = (
    "Beste,\n\nDe lamp brandt nog altijd niet. Het is nu al bijna drie weken.\n\nMvg,\nRia Vercruysse\n\n"
    "Van: Meldpunt 1777 <meldpunt@kortrijk.be>\nVerzonden: maandag 6 oktober 2031 09:00\n"
    "Aan: Ria Vercruysse\nOnderwerp: Re: Lamp Kanonstraat\n\n"
    "Beste, bedankt voor uw melding. De dienst verlichting is op de hoogte.\n\n"
    "Op 6 okt. 2031 om 07:15 schreef Ria Vercruysse:\n"
    "> Straatlamp voor nummer 54 in de Kanonstraat brandt al drie avonden niet."
)


def test_a_reply_reads_its_problem_from_its_own_words_and_its_place_from_the_thread() -> None:
    own = own_words("Re: Re: Lamp Kanonstraat", LAMP_THREAD)
    assert own.subject is None and "Kanonstraat" not in own.text and "brandt nog altijd niet" in own.text
    assert own.quoted


def test_a_reply_that_reports_another_problem_is_not_the_quoted_one(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Lamp brandt niet.", "verlichting", street="Kanonstraat", house_number="2")
    reply = _mail(
        "Re: Lamp brandt niet",
        "Beste,\n\nBedankt voor het snelle herstel. Ik wou nog melden dat er een hoop bouwpuin is gedumpt"
        " tegenover nummer 2 in de Kanonstraat.\n\nGroeten,\nJohan\n\n"
        "Op 7 okt. 2031 om 09:00 schreef Meldpunt 1777:\n> Uw melding over de lamp werd doorgegeven.",
        "verlichting",
        timedelta(days=2),
    )
    out = deduper.process(feed.index, reply)
    assert linked(out) is None, out.best_reason
    assert not out.kinds  # neither the subject's nor the quote's lamp


def test_a_reply_about_the_same_problem_is_placed_by_its_thread(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp brandt niet.", "verlichting", street="Kanonstraat", house_number="54")
    out = deduper.process(
        feed.index, _mail("Re: Re: Lamp Kanonstraat", LAMP_THREAD, "verlichting", timedelta(days=9))
    )
    # The quoted mail's "nummer 54 in de Kanonstraat", not the "Re:" subject's bare street.
    assert (out.place.street, out.place.house_number) == ("Kanonstraat", "54"), out.place.detail
    assert "verlichting.uit" in out.kinds
    assert linked(out) == "m1", out.best_reason


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("Bedankt om de matras zo snel weg te halen. Nu is er graffiti op de gevel.", "matras", "graffiti"),
        ("Na de herstelling van de lamp vorige week ligt er nu een put.", "lamp", "put"),
        ("Thanks for fixing the light, but now the bin is overflowing.", "light", "overflowing"),
    ],
)
def test_what_was_fixed_or_thanked_for_is_no_problem_word(text: str, gone: str, kept: str) -> None:
    own = own_words(None, text).text
    assert gone not in own and kept in own


def test_thanks_in_advance_asks_and_stays() -> None:
    text = "Alvast bedankt om de kapotte lamp te herstellen."
    assert "lamp" in own_words(None, text).text


@pytest.mark.parametrize(
    ("first", "dienst", "street", "number", "question"),
    [
        (
            "Rioolkolk verstopt.",
            "riolering",
            "Loofstraat",
            "61",
            "Wanneer komt er iemand kijken in de Loofstraat 61?",
        ),
        (
            "Lamp brandt niet.",
            "verlichting",
            "Kanonstraat",
            "54",
            "Is er al iets gebeurd met mijn melding over de Kanonstraat 54?",
        ),
        (
            "Diepe put in de weg.",
            "wegen",
            "Boerderijstraat",
            "49",
            "Any update on what I reported at Boerderijstraat 49?",
        ),
    ],
)
def test_a_question_that_names_no_problem_is_a_suggestion_at_most(
    deduper: Deduper, first: str, dienst: str, street: str, number: str, question: str
) -> None:
    feed = Feed(deduper)
    feed(first, dienst, street=street, house_number=number)
    ask = feed(question, dienst, at=timedelta(days=2))
    assert linked(ask) is None, ask.best_reason
    assert [s.candidate_id for s in ask.suggestions] == ["m1"]
    assert "a question that names no problem" in (ask.best_reason or "")


def test_a_question_that_names_its_problem_still_links(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Vuilbak zit propvol.", "nette_stad", street="Veemarkt", house_number="26")
    ask = feed("Wie komt de volle vuilbak aan Veemarkt 26 leegmaken?", "nette_stad", at=timedelta(hours=20))
    assert linked(ask) == "m1", ask.best_reason


@pytest.mark.parametrize(
    ("text", "near"),
    [
        # Across from 121 is the point of nr 122, not the odd range 91-121's point 130 m on.
        (
            "le réverbère en face du numéro 121 dans la Zwevegemsestraat ne fonctionne plus",
            (50.823729, 3.274047),
        ),
        ("dikke tak st denijsestr tegenover 134", (50.819827, 3.274370)),  # nr 133
        ("De straatkolk tegenover nummer 62 in de Loofstraat zit dicht.", (50.817106, 3.263345)),  # 61-63
    ],
)
def test_across_from_a_number_is_the_other_sides_precise_point(
    locator: Locator, text: str, near: tuple[float, float]
) -> None:
    place = locator.from_text(text)
    assert place.lat is not None and place.lon is not None
    assert distance_m(place.lat, place.lon, *near) < 5, place.detail


def test_across_from_a_number_keeps_its_side_without_a_precise_point_there(locator: Locator) -> None:
    # Zwevegemsestraat has only the coarse odd range 91-121 across from 122: the number's own point.
    place = locator.from_text("de lampe in de zwevegemstraat rechtover 122 brandt nie meer")
    assert place.lat is not None and place.lon is not None
    assert distance_m(place.lat, place.lon, 50.823729, 3.274047) < 5, place.detail


def test_a_street_the_register_places_beats_a_landmark_it_cannot(locator: Locator) -> None:
    text = "There's a broken railing on the footbridge over the Leie near the Kasteelkaai"
    assert locator.from_text(text).street == "Kasteelkaai"
    assert locator.from_text("Zwerfvuil langs de Leie").street == "Leie"  # alone it is still the place


def test_other_objects_at_another_house_are_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(
        "Matras en zetel gedumpt op het voetpad.", "nette_stad", street="Kortrijksestraat", house_number="21"
    )
    fridge = feed(
        "Koelkast achtergelaten naast de oprit.",
        "nette_stad",
        street="Kortrijksestraat",
        house_number="11",
        at=timedelta(hours=20),
    )
    assert linked(fridge) is None, fridge.best_reason
    assert "related only, at another house" in (fridge.best_reason or "")


def test_other_objects_at_one_house_still_link(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed(
        "Matras en zetel gedumpt op het voetpad.", "nette_stad", street="Kortrijksestraat", house_number="21"
    )
    more = feed(
        "Er staat ook een koelkast bij de gedumpte rommel.",
        "nette_stad",
        street="Kortrijksestraat",
        house_number="19",
        at=timedelta(hours=20),
    )
    assert linked(more) == "m1", more.best_reason


@pytest.mark.parametrize(
    "text", ["matras ligt er nog kortryksestraat heule 22", "Kortrijksestraat, Heule nr 22"]
)
def test_a_deelgemeente_between_street_and_number(locator: Locator, text: str) -> None:
    place = locator.from_text(text)
    assert (place.street, place.house_number, place.deelgemeente) == ("Kortrijksestraat", "22", "Heule"), (
        place.detail
    )
