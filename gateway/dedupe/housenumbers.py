"""House numbers next to a street name: "Loofstraat 61", "nr 5-9", "tegenover nummer 7", "ter
hoogte van 12", "devant le 133" (gateway.dedupe.locate places them with the register)."""

from __future__ import annotations

import re

from gateway.dedupe.text import fold

# The words that say a house number follows ("nr 75", "nummer 7"), as written before it.
_NUMBER_WORD = r"nr|nummer|huisnummer|no|n°"
NUMBER_WORDS = frozenset(w for w in _NUMBER_WORD.split("|") if w.isalpha())  # as tokens ("n°" is none)

# "Kortrijksestraat Heule 22": the deelgemeente between a street and its number.
_PLACE_WORD = r"(?i:heule|bissegem|marke|aalbeke|bellegem|kooigem|rollegem)"

NUM_AFTER = re.compile(
    rf"^\.?[ \t]*,?[ \t]*(?:{_PLACE_WORD}[ \t]*,?[ \t]*)?(?:(?:{_NUMBER_WORD})\.?[ \t]*)?(\d{{1,4}})(?!\d)"
    r"(?:[ \t]?([a-zA-Z])(?![a-zA-Z]))?"
    r"(?:[ \t]*(?:-|–|tot|t/m|/|en)[ \t]*(\d{1,4})(?!\d))?"
)
# A number word before the number, Dutch, French or English ("near number 20" as "near no. 20").
_NUM_CUE = re.compile(
    r"(?P<cue>tegenover|rechtover|recht over|t\.?\s?o\.?\s?v\.?|ter hoogte van|t\.?\s?h\.?\s?v\.?"
    r"|voor|naast|aan|bij|achter|vlakbij|aan de overkant van|en face du|en face de|opposite|across from)?"
    r"\s*(?:het |de )?(?:huis |woning |gebouw )?(?:met )?"
    r"(?:nr|nummer|huisnummer|number|no|numero|numéro|n°)\.?\s*(?P<lo>\d{1,4})(?!\d)(?:\s*(?:-|–|tot|t/m)\s*(?P<hi>\d{1,4})(?!\d))?",
    re.IGNORECASE,
)
# "tegenover 80", "thv 16", "devant le 133", "in front of 54": these cues name a house number
# without "nr" (French and English ones only before a bare number: "devant le 2e", "outside 2pm").
_NUM_CUE_BARE = re.compile(
    r"\b(?:(?P<cue>tegenover|rechtover|recht over|t\.?\s?o\.?\s?v\.?|ter hoogte van|t\.?\s?h\.?\s?v\.?"
    r"|aan de overkant van)\s+(?P<lo>\d{1,4})(?!\d)(?:\s*(?:-|–|tot|t/m)\s*(?P<hi>\d{1,4})(?!\d))?"
    r"|(?P<cue2>devant le|en face du|à hauteur du|a hauteur du|au niveau du|in front of|outside|opposite)"
    r"\s+(?P<lo2>\d{1,4})(?![\w/-]))",
    re.IGNORECASE,
)
NOT_A_NUMBER_AFTER = re.compile(
    r"^\s*(?:uur|u\b|h\b|dagen|dag|weken|week|maanden|maand|jaar|keer|meter|m\b|cm|km|min|minuten|euro|%|x\b|"
    r"stuks|zakken|kg|liter)",
    re.IGNORECASE,
)


def house_number(
    text: str, start: int, end: int, stop: int
) -> tuple[tuple[int, int, str] | None, str | None]:
    """The house number of a street name written at text[start:end] ((lo, hi, as written), and
    the cue before it: "tegenover"), looked for up to `stop` (the next street named)."""
    after = text[end : end + 30]
    found = NUM_AFTER.match(after)
    if found and not NOT_A_NUMBER_AFTER.match(after[found.end() :]):
        lo = int(found.group(1))
        hi = int(found.group(3)) if found.group(3) else lo
        if lo < 1000 and hi < 1000 and hi >= lo and hi - lo <= 60:
            written = found.group(0).strip(" \t,.")
            written = re.sub(
                rf"^(?:{_PLACE_WORD}\s*,?\s*)?(?:(?:{_NUMBER_WORD})\.?\s*)?", "", written, flags=re.I
            )
            return (lo, hi, written), None
    # "tegenover nummer 7", "ter hoogte van nr 12": a number word in the same sentence, or in
    # the next ones before another street is named ("... in de Loofstraat? Thv nr 12 ...").
    first, _ = _sentence_bounds(text, start)
    last = min(stop, end + 150)
    cues = [*_NUM_CUE.finditer(text, first, last), *_NUM_CUE_BARE.finditer(text, first, last)]
    for cue in sorted(cues, key=lambda c: c.start()):
        if cue.re is _NUM_CUE_BARE and NOT_A_NUMBER_AFTER.match(text[cue.end() :]):
            continue
        groups = cue.groupdict()
        lo = int(groups.get("lo") or groups["lo2"])
        hi = int(groups["hi"]) if groups.get("hi") else lo
        if lo < 1000 and hi >= lo and hi - lo <= 60:
            said = groups.get("cue") or groups.get("cue2")
            qualifier = fold(said).strip() if said else None
            written = f"{lo}-{hi}" if hi != lo else str(lo)
            return (lo, hi, written), qualifier
    return None, None


# Cues that place the problem across the street from the number: on the other side's numbers.
OPPOSITE = frozenset(
    {
        "tegenover",
        "rechtover",
        "recht over",
        "aan de overkant van",
        "en face du",
        "en face de",
        "opposite",
        "across from",
    }
)

_SENTENCE_END = re.compile(r"[.!?]+(?=\s+[A-Z])|[!?]+|\n")


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    """The sentence around `pos` ("nr. 12" and "Kon. Albert" do not end one)."""
    start, end = 0, len(text)
    for m in _SENTENCE_END.finditer(text):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end
