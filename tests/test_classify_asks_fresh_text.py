"""Readings corrected on the thirtieth round's read probes (issue 14: gateway/classify/asks.py, the
routing rules of config/diensten.toml).

The texts are written for this test, not copied from the corpus, the dev sets or the probes.
"""

from __future__ import annotations

import pytest

from gateway.classify import asks, causes
from tests.support.classify import rules
from tests.test_classify_asks import decide

BLOCKED_BY_GREEN = [
    "Le fossé le long de la rue de Rollegem est obstrué par des branches, l'eau passe sur la route.",
    "De duiker onder de oprit is helemaal verstopt door takken en bladeren.",
    "The culvert under the farm lane is choked with branches after the storm.",
    "het rooster aan de bushalte zit vol bladeren, overal plassen",
]


@pytest.mark.parametrize("text", BLOCKED_BY_GREEN)
def test_a_drain_blocked_by_leaves_or_branches_is_the_sewers(text: str) -> None:
    assert causes.green_blocks_drain(text)
    # a groen routing goes to the desk, shown riolering; a riolering routing stays
    decision = decide({"groen": 0.96, "riolering": 0.04}, text)
    assert (decision.triage, decision.best) == (True, "riolering")
    assert decide({"riolering": 0.96, "groen": 0.04}, text).routing().dienst == "riolering"


@pytest.mark.parametrize(
    "text",
    [
        # the branches and the drain in different sentences: the tree's
        "Er hangen takken over de gracht. De gracht zelf is verstopt, maar dat is al gemeld.",
        "A big branch broke off the lime tree and lies across the footpath by the drain.",
        "De kolk is verstopt. Kan de stad ook de takken van de linde snoeien?",
    ],
)
def test_branches_without_a_blocked_drain_in_their_sentence_are_no_such_reading(text: str) -> None:
    assert not causes.green_blocks_drain(text)


def test_a_lamp_that_works_beside_an_open_electric_box_is_not_fine() -> None:
    text = "La porte de la boîte électrique au pied du lampadaire est arrachée. La lampe fonctionne encore."
    assert asks.fine_objects(text) == set()
    assert asks.fine_objects("Le lampadaire fonctionne, c'est le panneau qui est tombé.") == {"verlichting"}


def test_containers_that_are_fine_but_not_emptied_are_the_waste_companys() -> None:
    text = "The containers are fine, they just weren't emptied on Tuesday. Please come back for them."
    assert asks.fine_objects(text) == set()
    decision = decide({"afvalophaling": 0.95, "nette_stad": 0.05}, text)
    assert (decision.triage, decision.best) == (False, "afvalophaling")
    # not full and not emptied are different things: waste dumped beside a fine container stays Nette Stad's
    assert asks.fine_objects("De glasbol is niet vol, maar er staan vuilzakken naast.") == {"afvalophaling"}


@pytest.mark.parametrize(
    "text",
    [
        "Le nid-de-poule rebouché en mars est revenu. Merci de le refaire correctement.",
        "The pothole you filled in May is back, deeper than before.",
        "Het gat in de weg dat vorige maand hersteld werd, is teruggekomen.",
    ],
)
def test_a_repaired_problem_that_came_back_asks_for_the_work_again(text: str) -> None:
    assert asks.asks_to_reopen(text)


def test_a_question_whether_a_wait_for_an_answer_is_normal_is_no_complaint() -> None:
    text = "Ik heb het formulier voor een bewonerskaart ingevuld en nog niks gehoord, is dat normaal?"
    assert not asks.complains_by_asking(text)
    decision = decide({"info": 0.99, "nette_stad": 0.01}, text)
    assert (decision.triage, decision.best) == (False, "info")
    assert asks.complains_by_asking("De buren zetten hun afval elke dag op straat, is dat normaal?")


def test_a_request_ends_at_its_clause() -> None:
    text = "Er zit een wespennest in de holle wilg. Graag verwijderen; de boom zelf mag blijven staan."
    assert asks.asked_words(text) == "verwijderen"
    decision = decide({"dieren": 0.97, "groen": 0.03}, text)
    assert (decision.triage, decision.best) == (False, "dieren")


@pytest.mark.parametrize(
    "text",
    [
        "sorry nog vergeten, moet ik een afspraak maken voor het recyclagepark?",
        "ik was het vergeten te vragen: wanneer is het recyclagepark open op zaterdag?",
    ],
)
def test_a_writer_who_forgot_to_ask_names_no_forgotten_collection(text: str) -> None:
    assert rules().route(text).dienst != "afvalophaling"


def test_a_forgotten_collection_stays_the_waste_companys() -> None:
    text = "De PMD-zakken zijn vergeten, ze staan nog altijd aan de deur."
    assert rules().route(text).dienst == "afvalophaling"


# ----------------------------------------------------- read in issue14ba (animals as cause and subject)


def test_a_request_ends_before_its_reason() -> None:
    text = "The deer warning sign lies in the ditch. Could you put it back up because deer cross at night?"
    assert asks.asked_words(text) == "put it back up"
    decision = decide({"signalisatie": 0.95, "dieren": 0.05}, text)
    assert (decision.triage, decision.best) == (False, "signalisatie")


def test_english_put_is_no_pothole() -> None:
    assert "wegen" not in {code for code, _ in rules().route("Could you put them back, please?").alternatives}
    assert rules().route("Er zit een diepe put in de weg voor nummer 12.").dienst == "wegen"


@pytest.mark.parametrize(
    "asked",
    [
        "put brighter lamps along the canal path",
        "this corner be put on a weekly round",
        "put more bins there",
    ],
)
def test_english_put_after_a_modal_or_before_an_english_word_is_no_pothole(asked: str) -> None:
    # Thirty-second round (read in issue14bk): the request's words named wegen on "put" alone.
    assert "wegen" not in asks.asked_work(asked, rules())[1]


def test_dutch_put_in_a_request_is_still_a_pothole() -> None:
    assert rules().route("Kan de put voor de deur van nummer 4 gevuld worden?").alternatives[0][0] == "wegen"


def test_a_bins_lid_is_no_drain_cover() -> None:
    asked = "de rommel opgeruimd wordt en of er een vuilbak met een deksel kan komen"
    assert "riolering" not in asks.asked_work(asked, rules())[0]
    cover = "Het deksel van de rioolput ligt ernaast, open gat in de straat."
    assert rules().route(cover).dienst == "riolering"


def test_merci_de_with_elision_is_a_request() -> None:
    assert asks.asked_words("Un dépôt de sacs derrière le parking. Merci d'enlever ce dépôt sauvage.") == (
        "enlever ce dépôt sauvage"
    )


def test_a_question_the_writer_says_is_no_complaint_is_none() -> None:
    text = "Zijn moeder voedert duiven, hij vraagt of dat mag. Geen melding, hij wil enkel de regel weten."
    assert not asks.complains_by_asking(text)
    decision = decide({"info": 0.99, "dieren": 0.01}, text)
    assert (decision.triage, decision.best) == (False, "info")


@pytest.mark.parametrize(
    ("text", "dienst"),
    [
        (
            "Het verkeersbord zelf is in orde, het is de paal die na een aanrijding scheef staat.",
            "signalisatie",
        ),
        ("The street light still works but the pole's base is rusted through and it wobbles.", "verlichting"),
        ("Le lampadaire fonctionne, mais le poteau est fendu au pied.", "verlichting"),
    ],
)
def test_an_object_fine_but_for_its_own_pole_is_its_diensts(text: str, dienst: str) -> None:
    # the thirty-first round's reading: the pole or base of the object said to be fine is at fault
    assert dienst not in asks.fine_objects(text)
    assert decide({dienst: 0.97, "wegen": 0.03}, text).routing().dienst == dienst


def test_an_object_fine_beside_another_things_pole_stays_fine() -> None:
    text = "De lamp brandt gewoon. Er hangt een bijennest aan de paal van het bord ernaast."
    assert "verlichting" in asks.fine_objects(text)


@pytest.mark.parametrize(
    "text",
    [
        "Aan de lichtpaal voor de school hangt het deurtje open, je ziet de kabels.",
        "Au pied du lampadaire de la place, la trappe a disparu et des fils pendent.",
        "The hatch at the bottom of the street light outside no. 4 is missing, wires showing.",
    ],
)
def test_a_lamp_posts_open_hatch_or_bare_wires_is_the_lightings(text: str) -> None:
    # the post is named as the place of the fault, so its keyword adds nothing; the pattern does
    assert rules().route(text).dienst == "verlichting"


def test_wasps_in_a_lamp_posts_hatch_are_not_left_to_the_lighting() -> None:
    text = (
        "Er zitten wespen in het luikje van de lichtpaal aan de speeltuin, graag een wespennest verwijderen."
    )
    assert rules().route(text).dienst != "verlichting"


@pytest.mark.parametrize(
    "text",
    [
        "Hij wil voor zijn huis zelf twee bloembakken op de stoep zetten en vraagt of dat mag.",
        "We would like to put a bench in front of our house. Is this allowed?",
        "Nous allons installer un échafaudage devant la maison en mars. Est-ce permis ?",
        # Thirty-second round (read in issue14bk): the neighbours' plan, how to get the permission.
        "Des voisins aimeraient planter des fleurs au pied des arbres. Est-ce permis ? Comment le demander ?",
        "Our street would hold a party in June: is that allowed? How do we apply?",
    ],
)
def test_a_question_about_the_writers_own_plan_is_no_complaint(text: str) -> None:
    assert not asks.complains_by_asking(text)
    decision = decide({"info": 0.97, "wegen": 0.03}, text)
    assert (decision.triage, decision.best) == (False, "info")


@pytest.mark.parametrize(
    "text",
    [
        "De buren zetten elke avond hun container op de stoep, is dat toegelaten?",
        "We want to know whether that is allowed: a van has been parked on the pavement for a week.",
    ],
)
def test_a_question_about_what_others_do_is_still_a_complaint(text: str) -> None:
    assert asks.complains_by_asking(text)


def test_a_desk_notes_vraagt_een_names_what_is_asked() -> None:
    text = "Meneer begint over een scheef bord. Vraagt een extra lichtpunt aan de fietsenstalling."
    assert asks.asked_words(text) == "een extra lichtpunt aan de fietsenstalling"
    decision = decide({"signalisatie": 0.99, "verlichting": 0.01}, text)
    assert (decision.triage, decision.best) == (True, "verlichting")


# --------------------------------------------------------------------------- thirty-third round (bu, bv, bw)

SCHEDULE_ASKED = [
    "Hoe vaak wordt de goot in de Beekstraat geveegd? Ik wil weten wanneer ik mijn auto moet verzetten.",
    "Is there a sweeping schedule for the Grote Markt on Sunday mornings?",
    "Bonjour, à quelle heure passe la balayeuse dans notre rue le samedi ?",
    "When will the hedges along the Kanaalweg be trimmed this year?",
]


@pytest.mark.parametrize("text", SCHEDULE_ASKED)
def test_when_or_how_often_a_service_passes_is_the_desks_question(text: str) -> None:
    assert asks.asks_the_schedule(text)
    decision = decide({"nette_stad": 0.9, "info": 0.1}, text)
    assert (decision.triage, decision.best) == (True, "info")


@pytest.mark.parametrize(
    "text",
    [
        # when someone comes at last: the work is asked
        "Onze zakken staan er nog altijd. Quand passera le camion ?",
        # asked first and answered, then the real report
        "Monsieur demande d'abord à quelle heure ouvre le parc (répondu), puis signale un trottoir affaissé.",
        "How often do I have to report this broken lamp before someone comes?",
    ],
)
def test_a_schedule_named_in_a_complaint_or_answered_first_is_no_question(text: str) -> None:
    assert not asks.asks_the_schedule(text)


@pytest.mark.parametrize(
    "text",
    [
        "We'd like to plant flowers in the tree pit in front of our house. Is that allowed?",
        "Elle voudrait savoir si elle a le droit de tailler elle-même la haie de la ville. Est-ce permis ?",
        "Bonjour, est-ce permis de laisser son vélo contre un arbre de la place ?",
    ],
)
def test_the_writers_own_permission_in_other_words_is_no_complaint(text: str) -> None:
    assert not asks.complains_by_asking(text)
    decision = decide({"info": 0.98, "groen": 0.02}, text)
    assert (decision.triage, decision.best) == (False, "info")


def test_a_complaint_asked_as_est_ce_normal_de_stays_a_complaint() -> None:
    assert asks.complains_by_asking("Est-ce normal de laisser ces sacs une semaine sur le trottoir ?")


def test_a_west_flemish_moag_ik_asks_the_writers_own_permission() -> None:
    text = "moag ik die tak van de stadsboom boven min oprit zelf afzoagn?"
    assert asks.asks_permission(text)
    decision = decide({"groen": 0.6, "info": 0.4}, text)
    assert (decision.triage, decision.best) == (True, "info")


def test_a_lamp_post_hit_and_leaning_is_the_lightings_though_the_lamp_works() -> None:
    text = "Le poteau d'éclairage devant le n° 8 a été percuté par un camion. La lampe fonctionne encore."
    assert "verlichting" not in asks.fine_objects(text)
    assert decide({"verlichting": 0.99, "wegen": 0.01}, text).routing().dienst == "verlichting"


@pytest.mark.parametrize("text", ["de lantoarn an de kerke is uut", "lanteirn kapot in ons stroatje"])
def test_a_west_flemish_lantoarn_is_the_lightings_keyword(text: str) -> None:
    assert rules().route(text).dienst == "verlichting"
