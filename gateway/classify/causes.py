"""Green named as the cause, another dienst's object as what is reported (issue 14).

A tree or its branches often stand beside the problem they caused: roots that lifted a pavement,
leaves that block a drain, a fallen branch that bent a lamp post. The tree's word is the strongest
keyword in such a text, but the work asked is the road's, the sewer's or the lamp's. The router reads
these here, each inside one clause (a sentence, or a part after ";"):

- `roots_lift_surface` (seventeenth round): tree roots and a broken pavement or cycle path;
- `green_blocks_drain` (thirtieth round): leaves or branches blocking a drain, ditch or culvert;
- `green_cleared_object_damaged` (thirty-fourth round): the fallen tree or branch already cleared,
  and the object it hit still damaged;
- `city_work_makes_nuisance` (thirty-fourth round): the city's own crew or installation named as the
  source of a noise or a smell (the nuisance is the text's word, the crew's dienst the one to act).

The patterns are lowercase and searched in lowercased text (as in `asks`).
"""

from __future__ import annotations

import re

CLAUSE_END = re.compile(r"[.?!\n;]")  # a sentence or a clause after ";": the readings below stay inside one

# ---- tree roots named as the cause of a broken surface (seventeenth round): "tree roots pushing up the
# bike path", "les racines ont soulevé les dalles du trottoir". The tree is the cause; the broken
# pavement or cycle path the consequence reported, and the road's repair the work asked. In the corpus
# and dev sets (held-out excluded) 24 of the 25 texts with roots and a surface word in one sentence
# are labelled wegen (this round's corpus line included); the other is a crack in the trunk ("vooral de
# boom zelf"), which goes to the desk shown wegen.
_ROOTS = re.compile(r"\b(?:roots?|\w*wortels?|racines?)\b")
_SURFACE = re.compile(
    r"\b(?:voetpad\w*|fietspad\w*|stoep\w*|\w*tegels?|asfalt|kasseien|trottoir\w*|dalles?|pavés?|chaussée"
    r"|piste\s+cyclable|pavement|paving|slabs?|tiles?|bike\s+path|cycle\s+path|cycle\s+lane|footpath|asphalt)\b"
)
# ... and what the roots did to it: a tree blown over onto the cycle path "roots and all" is the tree's.
_LIFTED = re.compile(
    r"omhoog|opgebroken|opgeduwd|opgedrukt|gedrukt|\bduw|bulten|schuin|schots|scheur|opstaand|hobbel|struikel"
    r"|lift|push|crack|broken|hump|tilt|trip|soulev|cass|fissur|bomb|trébuch"
)


def _in_one_clause(text: str, anchor: re.Pattern[str], *others: re.Pattern[str]) -> bool:
    """Some clause of `text` (lowercased) holds `anchor` and each of `others`."""
    for found in anchor.finditer(text):
        start = max((m.end() for m in CLAUSE_END.finditer(text, 0, found.start())), default=0)
        end = CLAUSE_END.search(text, found.end())
        stop = end.start() if end else len(text)
        if all(other.search(text, start, stop) for other in others):
            return True
    return False


def roots_lift_surface(text: str) -> bool:
    """Tree roots, a pavement, cycle path or road surface and its damage in one sentence: the road's."""
    return _in_one_clause(text.lower(), _ROOTS, _SURFACE, _LIFTED)


# ---- leaves or branches that block a drain, a ditch or a culvert (thirtieth round): "le passage busé est
# obstrué par des branches". The green is what blocks; clearing the drain is the sewer service's work. In
# the corpus, the dev sets and the read probes all 93 texts with a drain, a blocking word and leaves or
# branches in one sentence are labelled riolering.
_DRAIN_OBJECT = re.compile(
    r"\b(?:\w*kolke?n?|\w*putje?s?|rioolput\w*|riool\w*|roosters?|gull(?:y|ies)|drains?|avaloirs?|égouts?"
    r"|grilles?|fossés?|\w*grachte?n?|sloten|sloot|ditch\w*|duikers?|culverts?|passage\s+busé|inbuizing)\b"
)
_BLOCKED = re.compile(
    r"verstopt|verstopping|dichtgeslibd|obstru|bouch|blocked|clogged|choked|zit\s+vol|full\s+of|rempli|plein"
)
_GREEN_WASTE = re.compile(
    r"\b(?:takken|tak|twigs?|branch\w*|bladeren|blad|bladafval|leaves|feuilles|snoeiafval|snoeihout|gras"
    r"|grass|herbe|wortels?|roots?|racines?)\b"
)


def green_blocks_drain(text: str) -> bool:
    """A drain, ditch or culvert said blocked, and leaves or branches, in one sentence: the sewer's."""
    return _in_one_clause(text.lower(), _DRAIN_OBJECT, _BLOCKED, _GREEN_WASTE)


# ---- a fallen tree or branch already cleared, the object it hit still damaged (thirty-fourth round): "De
# tak is al opgeruimd, maar het bord staat naar de grond gebogen", "Branche dégagée, mais le mât est plié".
# With the tree still lying there the tree is the work ("un arbre s'est couché sur le lampadaire, le
# lampadaire est plié" is groen in the corpus); cleared, what is left is the object's repair. In the
# corpus, the dev sets and the read probes all 11 texts that say both are labelled with the object's
# dienst; three of them were routed to groen.
_FALLEN = re.compile(
    r"\b(?:\w*bom(?:en)?|boom\w*|\w*takk?e?n?|branch\w*|tree\w*|arbres?|limb|stam|tronc|trunk)\b"
)
_CLEARED = re.compile(
    r"\b(?:is|zijn|werd|werden|was|were|has\s+been|have\s+been|had\s+been|al|reeds|already|a\s+été|ont\s+été|est"
    r"|sont|heeft|hebben)\s+(?:[\w()!']+\s+){0,4}?(?:weggehaald|weggenomen|opgeruimd|weggezaagd|verwijderd"
    r"|afgevoerd|cleared|taken\s+away|removed|dégagée?s?|enlevée?s?|évacuée?s?|retirée?s?)\b"
    r"|\b(?:branche|arbre|tak|boom)s?\s+(?:dégagée?s?|enlevée?s?|évacuée?s?|opgeruimd|weggehaald)\b"
    r"|\b(?:boom|tak)\s+is\s+weg\b|\b(?:tree|branch)\s+is\s+gone\b"
)
# ... not said undone, asked for, or only thought done ("they thought it had been removed, but ...")
_NOT_CLEARED = re.compile(
    r"\b(?:niet|nie|nog\s+altijd|nog\s+steeds|not|never|no\s+one|nobody|pas|jamais|still|thought|dacht"
    r"|pensait|kan|kunnen|could|can|please|graag|worden|be)\b|n't\b"
)
_HIT_OBJECT = re.compile(
    r"\b(?:lantaarnpa\w*|\w*paal|posts?|poteaux?|\w*lamp\w*|verlichting\w*|lampadaire\w*|réverbère\w*|mât"
    r"|éclairage|pole|light\w*|bord\w*|verkeersbord\w*|signs?|panneau\w*|spiegel\w*|mirror\w*|miroir\w*|bank\w*"
    r"|bench\w*|banc\w*|paaltje\w*|bollard\w*|potelet\w*|verkeerslicht\w*|feux?|container\w*|bak|conteneur\w*)"
)
_DAMAGED = re.compile(
    r"plié|tordu|cassé|renvers|abattu|couché|bent|knocked|smashed|broken|snapped|flattened|crushed|scheef"
    r"|omver\w*|geplet|kapot|gebroken|geknakt|\bplat\b|verbogen|geraakt|omgeduwd|ingedeukt|split|pend|hangs"
    r"|hangt|onleesbaar|unreadable|brandt\s+niet|branden\s+niet|éteint|doet\s+het\s+niet|knipper|gebogen"
    r"|gescheurd|geplooid"
)
_CLAUSE_OR_TURN = re.compile(r"[.!?;\n]|,\s*(?:maar|but|mais)\b")


def green_cleared_object_damaged(text: str) -> bool:
    """A clause says the fallen tree or branch is cleared, and one says an object it may have hit
    (a lamp, sign, mirror, bench, bin) is damaged: the object's dienst's work."""
    clauses = _CLAUSE_OR_TURN.split(text.lower())
    return any(
        _FALLEN.search(c) and _CLEARED.search(c) and not _NOT_CLEARED.search(c) for c in clauses
    ) and any(_HIT_OBJECT.search(c) and _DAMAGED.search(c) for c in clauses)


# ---- the city's own crew or installation as the source of a nuisance (thirty-fourth round, read in
# issue14cc): "de ploeg van de groendienst blaast elke ochtend om zeven uur met een luide bladblazer",
# "la station de pompage fait un bourdonnement continu", "new speed cushions ... a loud bang". The noise
# words are Overlast's, but what is asked is the crew's or the installation's dienst's work: none of the
# 11 read texts that name both is labelled overlast.
_CITY_SOURCE = re.compile(
    r"\b(?:groendienst|de\s+mannen\s+van\s+(?:het\s+groen|de\s+stad)|stadsdiensten?|city\s+(?:crews?|workers"
    r"|mowers?|gardeners|services?)|(?:the\s+)?council(?:'s)?\s+(?:crews?|workers|mowers?)|(?:crews?|workers)\s+of"
    r"\s+the\s+city|services?\s+(?:communaux|de\s+la\s+ville)|ouvriers\s+(?:communaux|de\s+la\s+ville)"
    r"|stadsarbeiders|ploeg\s+van\s+de\s+(?:stad|groendienst)|pompstation|station\s+de\s+pompage|pumping\s+station"
    r"|verkeersdrempel\w*|speed\s+(?:cushion|bump|hump)s?|ralentisseurs?|dos\s+d'âne)\b"
)
_NUISANCE = re.compile(
    r"lawaai|herrie|geluid|bruit|bourdonn|noise|noisy|loud|bang|hum\b|brom|dreun|trill|vibra|stink|stank|odeur"
    r"|smell|spuit|spray|pulvéris|leaf\s*blower|bladblazer|souffleur"
)


def city_work_makes_nuisance(text: str) -> bool:
    """The city's own crew or installation and a noise, smell or spraying named in the text: the
    crew's or installation's dienst's work, not Overlast's."""
    lowered = text.lower()
    return _CITY_SOURCE.search(lowered) is not None and _NUISANCE.search(lowered) is not None
