"""A long street: "somewhere on it" places no report near another.

"Lamp uit in de Doorniksewijk" and a lamp reported 500 m further along that street meet only
"on the same street" (gateway.dedupe.placing: a street-level fit). On a street a few lamp posts
long that is as good as one spot; on a street many times the dienst's reach it is plausible but
not sure, and the probes' and dev streams' false links were such pairs. There the pair is at most
a suggestion, unless something else places both reports together:

- they came within a few hours of each other (a fallen branch, a storm: one fresh problem
  noticed by several people the same morning);
- both texts name the same spot along the street ("aan de apotheek", "near the pharmacy");
- the new report says the problem is still there ("nog altijd niet hersteld", "still"): it
  refers to a problem already reported (two problems of the kind on the street: gateway.dedupe.rival);
- the kind stands at few spots of a street or covers all of it (traffic lights at its crossing,
  ice on the whole street).

"Long" is measured on the register: the extent of the street's address points, against the
dienst's radius (`long_street_reaches` in config/dedupe.toml). A street without an extent is not
judged long (its length is not known); a missed collection (afvalophaling, 250 m) never is.
"""

from __future__ import annotations

import re
from datetime import timedelta

from gateway.dedupe.records import Entry, Probe
from gateway.dedupe.register import Street
from gateway.dedupe.text import content_tokens

# "nog altijd niet hersteld", "nog steeds kapot", "still not fixed", "toujours en panne".
STILL = re.compile(r"\b(?:nog (?:altijd|steeds)|nog niet (?:hersteld|gemaakt)|still|toujours)\b")

# Kinds whose object stands at few spots of a street (traffic lights at its crossings) or covers
# all of it (ice): "on this street" places them well enough.
WHOLE_STREET_KINDS = frozenset({"signalisatie.verkeerslicht", "wegen.gladheid"})

# Spots people name along a street instead of a number, by language, one name each.
_SPOTS = {
    "pharmacy": "apotheek pharmacie pharmacy",
    "bakery": "bakker bakkerij boulangerie bakery baker",
    "butcher": "beenhouwer slager beenhouwerij boucherie butcher",
    "chipshop": "frituur frietkot friterie chipshop",
    "church": "kerk eglise church",
    "chapel": "kapel chapelle chapel",
    "school": "school ecole",
    "busstop": "bushalte halte arret busstop bus",
    "garage": "garage",
    "carwash": "carwash",
    "station": "station stationsparking gare",
    "park": "park parc",
    "supermarket": "supermarkt supermarche supermarket",
    "cafe": "cafe",
    "bank": "bank banque",
    "hall": "feestzaal zaal salle",
    "playground": "speeltuin speelplein playground",
    "cemetery": "kerkhof begraafplaats cimetiere cemetery",
    "roundabout": "rondpunt rotonde roundabout",
}
SPOT_NAMES: dict[str, str] = {}
for _name, _words in _SPOTS.items():
    for _word in _words.split():
        for _token in content_tokens(_word):
            SPOT_NAMES[_token] = _name


def length_m(street: Street | None) -> float:
    """How long the register knows the street to be: the diagonal of its points' extent."""
    if street is None or street.bbox is None:
        return 0.0
    return 2 * street.bbox.half_diagonal_m()


def is_long(street: Street | None, reach: float, reaches: float) -> bool:
    """Longer than `reaches` times the dienst's reach: "on this street" is no spot."""
    return length_m(street) > reaches * reach


def spots(text: str) -> frozenset[str]:
    """The spots a content string names (gateway.dedupe.text.content_string), language-neutral."""
    return frozenset(SPOT_NAMES[t] for t in text.split() if t in SPOT_NAMES)


def together(probe: Probe, entry: Entry, apart: timedelta, within: timedelta) -> str:
    """What places a new report and an earlier one on one long street together ("" when nothing
    does): `apart`, their time apart (within `within` counts); the spots their words name; the new
    report saying the problem is still there; a kind they share that stands at few spots."""
    if apart <= within:
        return f"reported {apart.total_seconds() / 3600:.0f} h apart"
    shared = spots(probe.text) & spots(entry.text)
    if shared:
        return f"both at the {min(shared)}"
    if probe.still:
        return "says still"
    if probe.kinds & entry.kinds & WHOLE_STREET_KINDS:
        return "its kind stands at few spots of a street"
    return ""
