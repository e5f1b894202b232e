"""What kind of problem a melding is about, per dienst: the precision layer of duplicate detection.

Place and time find the candidates; the kind separates "same street, other problem" (a
dumped mattress and graffiti, both Nette Stad, twenty metres apart). Each dienst has
*problem* kinds, grouped in families: kinds of one family are related (a street light that
is out / that flickers), kinds of different families are different problems. *Attribute*
families describe the object: in an exclusive one (waste fraction, animal species, sign type)
two different values are two problems (PMD not collected / GFT not collected), in a
non-exclusive one (dumped objects) they may be one pile described twice.

The words are in gateway.dedupe.lexicon. Patterns run on
`gateway.classify.rules.normalize_text` output: lowercase ascii, street names masked as
"straatnaam" (so "Boomgaardstraat" is no tree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.dedupe.foreign import FOREIGN
from gateway.dedupe.lexicon import LEXICON
from gateway.dedupe.text import ABBREVIATIONS


@dataclass(frozen=True)
class Kind:
    name: str  # unique over all diensten: "<dienst>.<kind>"
    family: str
    attribute: bool  # an attribute of the object, not the problem itself
    exclusive: bool  # attribute families only: different values are different problems
    implies: str | None  # an attribute that implies a problem kind (a mattress -> dumping)
    regex: re.Pattern[str]


def _build() -> dict[str, tuple[Kind, ...]]:
    built: dict[str, tuple[Kind, ...]] = {}
    for dienst, entries in LEXICON.items():
        problem_default = next((k for k, f, _ in entries if not f.startswith("@")), None)
        kinds = []
        for name, family, pattern in entries:
            foreign = FOREIGN.get(f"{dienst}.{name}")
            if foreign:
                pattern = rf"(?:{pattern})|\b(?:{foreign})\b"
            attribute = family.startswith("@")
            exclusive = family.startswith("@!")
            # A dumped object implies dumping; other attributes imply nothing on their own.
            implies = f"{dienst}.sluikstort" if dienst == "nette_stad" and family == "@object" else None
            kinds.append(
                Kind(
                    name=f"{dienst}.{name}",
                    family=f"{dienst}.{family.lstrip('@!')}",
                    attribute=attribute,
                    exclusive=exclusive,
                    implies=implies,
                    regex=re.compile(pattern),
                )
            )
        assert problem_default is not None
        built[dienst] = tuple(kinds)
    return built


KINDS: dict[str, tuple[Kind, ...]] = _build()
BY_NAME: dict[str, Kind] = {k.name: k for kinds in KINDS.values() for k in kinds}


# "naast de bank", "aan de verkeerslichten", "boven het zebrapad", "near the bridge", "pres du
# pont": an object named after a preposition and an article is where the problem is, not what
# it is ("de vuilbak naast de bank is kapot" is about a bin). The desk's "belt voor een
# wespennest" is what the call is about, not in front of what.
_PLACE_PHRASE = (
    r"\b(?:aan|bij|naast|boven|onder|(?<!belt )(?<!belde )(?<!bellen )voor|achter|tegenover|rechtover"
    r"|nabij|langs|rond|tussen|at|near|by"
    r"|above|beside|next to|in front of|behind|opposite|around|pres|devant|a cote|au dessus|en face"
    # "het deksel van de rioolput": the part is the problem, the object it belongs to says where.
    r"|(?:deksels?|roosters?|klep|kap|lid|covers?|couvercles?|plaques?|grilles?) (?:van|of|du|de la|des|de))"
    r" (?:(?:de|du|des|d|het|den|der|die|dat|the|a|an|la|le|les|l|een|un|une) ){1,2}"
)
_PLACE_ANYWHERE = re.compile(_PLACE_PHRASE)  # one search per text: most name no place at all
_PLACE_BEFORE = re.compile(_PLACE_PHRASE + "$")
# An object named with no problem word: what is usually wrong with it.
_DEFAULT_PROBLEM = {"signalisatie.zebrapad": "signalisatie.markering"}
# Words that are only the symptom of a cause the same text names: "kolk verstopt, het water
# blijft staan" is the blocked gully, not a flood (a cellar under water is one). Kind ->
# (its cause's kind, the symptom words); the kind is kept when any other word of it occurs.
_SYMPTOM_OF: dict[str, tuple[str, re.Pattern[str]]] = {
    "riolering.wateroverlast": (
        "riolering.kolk",
        re.compile(
            r"\b(?:water (?:blijft|staat|stond)|plas|plassen|waterplas\w*|eau stagnante"
            r"|water on the road)\b"
        ),
    ),
}
# Families that are different problems, but close enough that one report may describe both: a
# pair of them is never linked automatically, only suggested to the desk.
NEAR: tuple[frozenset[str], ...] = (
    frozenset({"riolering.kolk", "riolering.overstroming", "riolering.gracht"}),
    frozenset({"signalisatie.markering", "signalisatie.lamp"}),
    frozenset({"verlichting.licht", "verlichting.paal"}),
)


def _placed(kind: Kind, normalized: str, first: re.Match[str] | None = None) -> bool | None:
    """None: not found; True: every mention is a place ("naast de bank"); False: it is named."""
    m = first or kind.regex.search(normalized)
    found = None
    while m is not None:
        if not _PLACE_BEFORE.search(normalized, max(0, m.start() - 40), m.start()):
            return False
        found = True
        m = kind.regex.search(normalized, m.end())
    return found


# "vuilbak op de gr. markt puilt uit": normalize_text makes the dot of an abbreviation a
# sentence end, and an object and its problem word are looked for within one sentence.
_ABBREVIATION_DOT = re.compile(
    r"\b(" + "|".join(sorted({*ABBREVIATIONS, "nr", "no"}, key=len, reverse=True)) + r") \.(?= )"
)


def detect(dienst: str | None, normalized: str) -> frozenset[str]:
    """The kinds of a dienst found in normalized text (see module doc).

    A problem kind named only as a place ("de lamp aan het zebrapad", "de vuilbak naast de
    bank is kapot") is left out when the text names another problem, of this dienst or of
    another one; in the latter case that problem's kinds are kept (a wegen report about a bin
    then differs from one about a bench)."""
    normalized = _ABBREVIATION_DOT.sub(r"\1", normalized)
    found: set[str] = set()
    placed: set[str] = set()
    places = _PLACE_ANYWHERE.search(normalized) is not None
    for kind in KINDS.get(dienst or "", ()):
        m = kind.regex.search(normalized)
        if m is None:
            continue
        if places and not kind.attribute and _placed(kind, normalized, m):
            placed.add(kind.name)
            continue
        found.add(kind.name)
        if kind.implies:
            found.add(kind.implies)
    for kind, (cause, symptom) in _SYMPTOM_OF.items():
        if kind in found and cause in found and _only_symptom(BY_NAME[kind], symptom, normalized):
            found.discard(kind)
    if not any(not BY_NAME[k].attribute for k in found):
        for attribute, problem in _DEFAULT_PROBLEM.items():
            if attribute in found:
                found.add(problem)  # "het zebrapad op het Volksplein": its paint, unless a lamp is named
    if placed and not any(not BY_NAME[k].attribute for k in found):
        elsewhere = _named_elsewhere(dienst, normalized)
        # Nothing else named: the object is the problem after all ("lamp aan de kerk kapot").
        found |= elsewhere or placed
    return frozenset(found)


def _only_symptom(kind: Kind, symptom: re.Pattern[str], normalized: str) -> bool:
    """Every mention of `kind` in the text is one of its symptom words (see _SYMPTOM_OF)."""
    return all(symptom.match(normalized, m.start()) for m in kind.regex.finditer(normalized))


def _named_elsewhere(dienst: str | None, normalized: str) -> frozenset[str]:
    """Problem kinds of other diensten named (not as a place) in the text, for `detect`."""
    found = set()
    for other, entries in KINDS.items():
        if other == dienst or (other in _ANCHORS and not _ANCHORS[other].search(normalized)):
            continue
        for kind in entries:
            if not kind.attribute and _placed(kind, normalized) is False:
                found.add(kind.name)
    return frozenset(found)


# Kinds with generic words ("kapot", "werkt niet") say which dienst only next to its object.
_ANCHORS = {
    "dieren": re.compile(
        r"\b(?:\w*dier\w*|\w*kat|katten|poes\w*|hond\w*|duif|duiven|\w*vogel\w*|vos|vossen|egel\w*|rat|ratten"
        r"|muis|muizen|konijn\w*|reiger\w*|eend\w*|zwa(?:an|nen)|meeuw\w*|ree|vis|vissen|kadaver\w*|karkas\w*"
        r"|wesp\w*|hoornaar\w*|bij|bijen\w*|nest\w*|ongedierte|animal\w*|cats?|chats?|dogs?|chiens?|pigeons?"
        r"|rats|rodents?|rongeurs?|wasps?|guepes?|foxes|renards?)\b"
    ),
    "verlichting": re.compile(
        r"\b(?:\w*lamp\w*|\w*licht\w*|\w*verlichting\w*|lantaarn\w*|\w*paal|\w*palen|armatuur\w*|luchter\w*"
        r"|lampadaire\w*|eclairage|light\w*|luminaire\w*|reverbere\w*)\b"
    ),
}


# Kinds that point to their dienst only together with another kind of it (routing hints).
_HINT_ONLY_WITH = {"signalisatie.lamp": "signalisatie.zebrapad"}


def problem_diensten(normalized: str) -> list[tuple[str, int]]:
    """Diensten whose problem kinds occur in the text, with how many kinds, most first: a hint
    where routing is undecided."""
    counted = []
    for dienst in KINDS:
        anchor = _ANCHORS.get(dienst)
        if anchor is not None and not anchor.search(normalized):
            continue
        hits = {k for k in detect(dienst, normalized) if k.startswith(dienst + ".")}
        for kind, unless in _HINT_ONLY_WITH.items():
            if kind in hits and unless not in hits:
                hits.discard(kind)  # a lamp is verlichting's, unless it is the one at a crossing
        if any(not BY_NAME[k].attribute for k in hits):
            counted.append((len(hits), dienst))
    counted.sort(key=lambda c: -c[0])
    return [(d, n) for n, d in counted]


def agreement(a: Iterable[str], b: Iterable[str]) -> float | None:
    """How well two kind sets agree: 1 same problem, 0 different problems, None unknown.

    0.0 when both name problems of different families, or an exclusive attribute differs
    (a dead cat / a dead pigeon); 1.0 when they share a problem kind and no attribute
    contradicts; 0.75 for a shared family or attribute only.
    """
    ka = [BY_NAME[n] for n in a if n in BY_NAME]
    kb = [BY_NAME[n] for n in b if n in BY_NAME]
    if not ka or not kb:
        return None
    pa = {k.family for k in ka if not k.attribute}
    pb = {k.family for k in kb if not k.attribute}
    if pa and pb and not pa & pb:
        return 0.0
    shared_attribute = other_objects = False
    for family in {k.family for k in ka if k.attribute} & {k.family for k in kb if k.attribute}:
        va = {k.name for k in ka if k.family == family}
        vb = {k.name for k in kb if k.family == family}
        if va & vb:
            shared_attribute = True
        elif BY_NAME[next(iter(va))].exclusive:
            return 0.0
        else:
            other_objects = True  # a mattress here, a fridge there: maybe one pile, maybe two
    if pa and pb:
        names_a = {k.name for k in ka if not k.attribute}
        names_b = {k.name for k in kb if not k.attribute}
        same = bool(names_a & names_b) and (shared_attribute or not other_objects)
        return 1.0 if same else 0.75
    return 0.75 if shared_attribute else None


def near(a: Iterable[str], b: Iterable[str]) -> str | None:
    """ "kolk vs overstroming" when two kind sets name different problems of one NEAR group
    (a blocked gully / a flood at one house): the desk decides, nothing is linked."""
    pa = {BY_NAME[n].family for n in a if n in BY_NAME and not BY_NAME[n].attribute}
    pb = {BY_NAME[n].family for n in b if n in BY_NAME and not BY_NAME[n].attribute}
    if not pa or not pb or pa & pb:
        return None
    for group in NEAR:
        if pa <= group and pb <= group:
            return f"{_short(pa)} vs {_short(pb)}"
    return None


def _short(families: set[str]) -> str:
    return "/".join(sorted(f.split(".", 1)[1] for f in families))
