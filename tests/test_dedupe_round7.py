"""Issue 14, seventh round (stream_dev7): two problems of one dienst at one spot (a lamp that is
out and the post beside it knocked askew) are for the desk, not linked; French and English words
that said nothing before ("ne fonctionne toujours pas", "subsided") now name their problem."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.dedupe.finder import Deduper
from tests.support.dedupe import kinds_of, shipped_deduper
from tests.test_dedupe import Feed, linked

NIEUWSTRAAT_10_PIN = (50.82560, 3.26950)  # 10 m from the address point Nieuwstraat 2-22


@pytest.fixture(scope="module")
def deduper() -> Deduper:
    return shipped_deduper()


def test_the_post_is_named_apart_from_its_light() -> None:
    assert kinds_of("verlichting", "Lantaarnpaal staat scheef na een aanrijding") == {"verlichting.paal"}
    # The damage word far from the post, and the desk's "ertegen gereden".
    hit = "De paal van de straatverlichting aan Kongoweg 10 hangt scheef, iemand is ertegen gereden."
    assert kinds_of("verlichting", hit) == {"verlichting.paal"}
    assert kinds_of("verlichting", "Straatlamp brandt niet meer") == {"verlichting.uit"}
    # One crash, both problems: the text names both.
    both = kinds_of("verlichting", "paal aangereden en de lamp brandt niet meer")
    assert both == {"verlichting.paal", "verlichting.uit"}


def test_a_leaning_lamp_post_beside_a_lamp_that_is_out_is_for_the_desk(deduper: Deduper) -> None:
    feed = Feed(deduper)
    feed("Straatlamp brandt niet meer", "verlichting", street="Nieuwstraat", house_number="10")
    post = feed(
        "Lantaarnpaal staat scheef, er is een vrachtwagen tegen gereden",
        "verlichting",
        pin=NIEUWSTRAAT_10_PIN,
        at=timedelta(days=1),
    )
    assert linked(post) is None, post.best_reason
    assert [s.candidate_id for s in post.suggestions] == ["m1"]
    assert "different problems? paal vs licht" in (post.best_reason or "")
    # The post told again links to the post; the lamp told again to the lamp.
    again = feed(
        "Meneer belt: de lichtpaal in de Nieuwstraat aan nummer 12 helt gevaarlijk over",
        "verlichting",
        at=timedelta(days=1, hours=3),
    )
    assert linked(again) == "m2", again.best_reason
    dark = feed("De lamp aan Nieuwstraat 10 is nog altijd uit", "verlichting", at=timedelta(days=3))
    assert linked(dark) == "m1", dark.best_reason


def test_french_and_english_words_that_named_nothing() -> None:
    assert "verlichting.uit" in kinds_of("verlichting", "le lampadaire du pont ne fonctionne toujours pas")
    assert "verlichting.uit" in kinds_of("verlichting", "la lampe ne s'allume toujours pas")
    assert "wegen.put" in kinds_of("wegen", "Cycle path has subsided, dangerous dip")
    # A dip in the price is no hole: only "a / dangerous / deep dip".
    assert "wegen.put" not in kinds_of("wegen", "prices dip in winter")


def test_an_abbreviations_dot_does_not_end_the_sentence() -> None:
    # "gr." / "min." / "nr.": the object and its problem word stay in one sentence.
    assert "nette_stad.vuilbak_vol" in kinds_of("nette_stad", "vuilbak op de gr. markt puilt uit")
    assert "verlichting.paal" in kinds_of("verlichting", "de paal in de min. tacklaan nr. 5 hangt scheef")
    # A real sentence end still separates them.
    assert "nette_stad.vuilbak_vol" not in kinds_of("nette_stad", "vuilbak op de markt. vol met mensen")


def test_gr_and_a_short_lowercase_street_before_its_number_are_found(deduper: Deduper) -> None:
    where = deduper.locator.from_text
    assert where("vuilbak op de gr. markt puilt uit").street == "Grote Markt"
    assert where("op de Gr. Boudewijnlaan is het bord weg").street == "Graaf Boudewijn IX-laan"
    found = where("lamp dam 75 uit")
    assert (found.street, found.house_number) == ("Dam", "75")
    # A short common word before a duration is no address.
    assert where("dam 3 dagen").street is None
