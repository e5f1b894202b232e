"""Readings added on the thirty-fourth round's read probes (issue 14): a fallen tree already cleared
beside the object it damaged (gateway/classify/causes.py), a caller's request after a first question
and a report asked again in other words (gateway/classify/asks.py).

The texts are written for this test, not copied from the corpus, the dev sets or the probes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gateway.classify import asks, causes
from gateway.classify.router import TAIL_SURE, HybridRouter
from gateway.melding import DIENST_CODES
from tests.support.classify import rules
from tests.test_classify_asks import decide


class TextModel:
    """Stands in for a DienstModel whose probabilities depend on the text: `probs_of(text)`."""

    def __init__(self, probs_of: Callable[[str], dict[str, float]]) -> None:
        self.probs_of = probs_of
        self.meta = {"version": "charbow-test", "rules_agree_precision": 0.995}
        self.version = "charbow-test"

    def predict(self, texts: list[str]) -> Any:
        return np.array([[self.probs_of(t).get(c, 0.0) for c in DIENST_CODES] for t in texts])


def decide_by(probs_of: Callable[[str], dict[str, float]], text: str) -> Any:
    router = HybridRouter(rules(), TextModel(probs_of), 0.7)  # type: ignore[arg-type]
    [decision] = router.decide_many([(text, None)])
    return decision


# --------------------------------------------------------------------------- the tree cleared, the object hit

CLEARED_AND_DAMAGED = [
    "Na de storm viel een tak op het verkeersbord aan de Kasteelstraat. De tak is intussen weggehaald, "
    "maar het bord staat scheef.",
    "A branch came down on the lamp post by the school. The branch has been cleared, but the post is bent.",
    "Arbre tombé sur le miroir au carrefour de la Gentsestraat. L'arbre a été enlevé, mais le miroir est "
    "cassé.",
    "Boom omgewaaid tegen de zitbank aan de vijver; de boom is weg, de bank is gebroken.",
]


@pytest.mark.parametrize("text", CLEARED_AND_DAMAGED)
def test_a_cleared_tree_beside_a_damaged_object_is_the_objects(text: str) -> None:
    assert causes.green_cleared_object_damaged(text)
    decision = decide({"groen": 0.96, "signalisatie": 0.02, "verlichting": 0.01, "wegen": 0.01}, text)
    assert decision.triage and decision.best == "signalisatie"  # the likeliest dienst but groen
    # routed to the object's dienst, it stays there
    assert decide({"signalisatie": 0.97, "groen": 0.03}, text).best == "signalisatie"


@pytest.mark.parametrize(
    "text",
    [
        # the tree still lies there: the tree is the work
        "Een boom is op de lantaarnpaal gevallen en de paal is verbogen.",
        "De tak is nog niet weggehaald en het bord is kapot.",
        # asked, not done
        "Kan de tak weggehaald worden? Het bord erachter is kapot.",
        "Could the branch be removed? The sign behind it is bent.",
        # cleared, but nothing else damaged
        "De omgewaaide boom is weggehaald, dank. Maar de stronk ligt nog op het wandelpad.",
    ],
)
def test_a_tree_not_cleared_or_nothing_damaged_is_no_such_reading(text: str) -> None:
    assert not causes.green_cleared_object_damaged(text)


# --------------------------------------------------------------------------- the city's work as a nuisance

CITY_NUISANCE = [
    "Het pompstation aan de Leiekant bromt al een week dag en nacht, vroeger hoorde je het nooit.",
    "Sinds de nieuwe verkeersdrempel er ligt, dreunt elke vrachtwagen door ons huis.",
    "The city mowers start at six on Saturdays right under our windows, the noise is unbearable.",
    "Les ouvriers communaux passent le souffleur à feuilles à sept heures du matin.",
]


@pytest.mark.parametrize("text", CITY_NUISANCE)
def test_a_nuisance_from_the_citys_own_crew_or_installation_is_not_overlasts(text: str) -> None:
    assert causes.city_work_makes_nuisance(text)
    decision = decide({"overlast": 0.97, "groen": 0.02, "riolering": 0.01}, text)
    assert (decision.triage, decision.best) == (True, "groen")  # the likeliest dienst but overlast


def test_a_neighbours_noise_stays_overlasts() -> None:
    text = "De buren spelen elke nacht luide muziek tot drie uur, het lawaai is niet te harden."
    assert not causes.city_work_makes_nuisance(text)
    assert decide({"overlast": 0.97, "groen": 0.03}, text).routing().dienst == "overlast"


# --------------------------------------------------------------------------- a first question, then the call

FIRST_THEN = [
    (
        "Meneer vraagt eerst naar de openingsuren van het zwembad (gegeven). Dan het eigenlijke: de put in "
        "de Kortrijkstraat is weer groter geworden.",
        "de put in de Kortrijkstraat is weer groter geworden.",
    ),
    (
        "Madame demande d'abord les heures d'ouverture de la bibliothèque. Sa vraie demande : un trou dans "
        "la chaussée devant le numéro 12.",
        "un trou dans la chaussée devant le numéro 12.",
    ),
    (
        "Caller first asks when the library opens on Saturday. The real reason for the call: a pothole "
        "outside number 12.",
        "a pothole outside number 12.",
    ),
]


@pytest.mark.parametrize(("text", "tail"), FIRST_THEN)
def test_what_a_caller_asks_after_a_first_question(text: str, tail: str) -> None:
    assert asks.after_first_question(text) == tail


@pytest.mark.parametrize(
    "text",
    [
        "Mevrouw vraagt of het containerpark maandag open is.",
        "Eerst dit: de openingsuren op de website kloppen niet.",  # no turn
        "Dan het eigenlijke: een put in de straat.",  # no first question
    ],
)
def test_no_first_question_and_turn_no_tail(text: str) -> None:
    assert asks.after_first_question(text) is None


def _by_opening_hours(tail_probs: dict[str, float]) -> Callable[[str], dict[str, float]]:
    """The desk's for a text that names the opening hours, `tail_probs` for one that does not."""
    return lambda text: {"info": 0.97, "wegen": 0.03} if "openingsuren" in text else tail_probs


def test_an_info_routing_whose_request_after_the_turn_is_another_diensts_goes_to_the_desk() -> None:
    text = FIRST_THEN[0][0]
    decision = decide_by(_by_opening_hours({"wegen": 0.97, "info": 0.03}), text)
    assert (decision.triage, decision.best) == (True, "wegen")
    # not sure enough of that other dienst: the info routing stands
    unsure = {"wegen": TAIL_SURE - 0.05, "info": 1 - TAIL_SURE + 0.05}
    assert decide_by(_by_opening_hours(unsure), text).best == "info"
    # a request after the turn that is itself the desk's keeps it there
    same = "Meneer vraagt eerst iets over zijn rijbewijs. Dan het eigenlijke: de openingsuren van de bib."
    assert decide_by(_by_opening_hours({"wegen": 0.97}), same).best == "info"


# --------------------------------------------------------------------------- an earlier report asked again

ASKED_AGAIN = [
    "Graag opnieuw laten bekijken.",
    "Ik vraag opnieuw om de aanhangwagen te laten weghalen.",
    "Kunnen ze alsnog langskomen?",
    "Het probleem is dus niet opgelost.",
    "De zakken liggen er nog altijd.",
    "The bags are still there.",
    "It has not been fixed.",
    "Les sacs sont toujours là.",
]


@pytest.mark.parametrize("text", ASKED_AGAIN)
def test_an_earlier_report_asked_again_in_other_words(text: str) -> None:
    assert asks.asks_to_reopen(text)


def test_a_closed_report_whose_problem_is_not_solved_stays_with_its_dienst() -> None:
    text = (
        "Mijn melding over de kapotte lamp in de Veldstraat staat op behandeld. De lamp brandt een kwartier "
        "en valt dan uit, het probleem is niet opgelost. Graag opnieuw laten bekijken."
    )
    decision = decide({"verlichting": 0.97, "info": 0.03}, text)
    assert (decision.triage, decision.best) == (False, "verlichting")
    # only asked how it stands: the desk's
    asked = "Mijn melding over de kapotte lamp in de Veldstraat: is daar al iets mee gebeurd?"
    assert not asks.asks_to_reopen(asked)
    assert decide({"verlichting": 0.97, "info": 0.03}, asked).best == "info"
