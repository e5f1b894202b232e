"""Text normalization for duplicate detection: content words to compare, names to match.

Two reports of one problem share few exact words ("matras gedumpt aan de glasbol" /
"er ligt een oude matras naast de glascontainer"). What they share after removing
greetings, function words, places, numbers and plural endings is what rapidfuzz compares.
"""

from __future__ import annotations

import re
import unicodedata

from gateway.classify.rules import normalize_text

_FOLD = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "’": "'", "‘": "'"})


def fold(text: str) -> str:
    """Lowercase ascii: accents stripped ("Condédreef" -> "condedreef")."""
    text = text.lower().translate(_FOLD)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text


# Words that say nothing about the problem: function words, politeness, reporting verbs,
# place cues, time words. Dutch first, then the French and English a reporter may write.
def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = words(
    """
    de het een en of in op aan van voor met bij naar uit door over onder tegen tussen langs achter naast
    er is zijn was waren wordt worden werd ben bent heb hebt heeft hebben had hadden zal zullen zou zouden
    ik wij we je jij u uw mijn me mij ons onze hun hen hij zij ze zich dit dat deze die daar hier waar wat
    wie welk welke al nog ook maar dan als wel niet geen nu toen heel erg zeer veel meer reeds sinds
    sedert even graag dank dankjewel dankuwel bedankt alvast hallo hoi dag goedemorgen goedemiddag
    goedenavond goeiedag goeiemorgen beste geachte mevrouw meneer heer dames heren groeten groetjes
    vriendelijke vriendelijk mvg melding melden meld meldt gemeld wil wilde wou kunnen kan kunt moet moeten
    mag mogen gelieve aub svp laten weten zien gezien zag merk merkte gemerkt opgemerkt zeggen wilt
    doen gedaan gaan gaat ging komen komt kwam staat staan stond ligt liggen lag zit zitten iets iemand
    alles niets toch eens weer terug zo zoals omdat want dus zodat nadat voordat tot om te ter
    thv tov hoogte tegenover nummer nr huisnummer hoek kant zijde vlakbij buurt straat straatnaam
    stad kortrijk heule bissegem marke aalbeke bellegem kooigem rollegem
    vandaag gisteren morgen eergisteren avond nacht ochtend middag namiddag voormiddag week weken dag
    dagen maand maanden jaar uur tijd keer sinds lang maandag dinsdag woensdag donderdag vrijdag
    zaterdag zondag weekend januari februari maart april mei juni juli augustus september oktober
    november december
    le la les un une des du au aux et ou est sont il elle nous vous dans sur pour par avec pas ne que qui
    bonjour merci madame monsieur rue
    the a an of to at on is are was it there please thanks hello street near
    """
)

_DIGITS = re.compile(r"\d")


def stem(word: str) -> str:
    """Plural and inflection endings off, doubled final consonant collapsed: matrassen -> matras."""
    if len(word) > 5 and word.endswith("en"):
        word = word[:-2]
    elif len(word) > 4 and word.endswith("s") and (word[-2] in "lrnm" or word.endswith("jes")):
        word = word[:-1]  # tegels, containers; not matras, gras
    elif len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def content_tokens(text: str) -> list[str]:
    """The words that describe the problem, normalized and stemmed, in order of appearance."""
    out: list[str] = []
    for word in normalize_text(text).split():
        if len(word) < 3 or word in STOPWORDS or _DIGITS.search(word):
            continue
        out.append(stem(word))
    return out


def content_string(text: str, limit: int = 60) -> str:
    """Unique content tokens, at most `limit` (the request is at the start of long texts)."""
    seen: dict[str, None] = {}
    for token in content_tokens(text):
        seen.setdefault(token, None)
        if len(seen) >= limit:
            break
    return " ".join(seen)


# ---------------------------------------------------------------------------------- names

# Abbreviations in street names, one token each after splitting on anything not a letter or digit.
ABBREVIATIONS: dict[str, str] = {
    "st": "sint",
    "sint": "sint",
    "ste": "sinte",
    "kon": "koning",
    "kgn": "koningin",
    # "Gr. Markt"; "Gr." is also Graaf, whose streets are still found by their name without it.
    "gr": "grote",
    "burg": "burgemeester",
    "burgm": "burgemeester",
    "pres": "president",
    "min": "minister",
    "fil": "filips",  # "Fil. vd Elzaslaan"
    "ov": "over",  # "Ov. Leiestr."
    "mgr": "monseigneur",
    "mons": "monseigneur",
    "dr": "dokter",
    "prof": "professor",
    "gebr": "gebroeders",
    "str": "straat",
    "stwg": "steenweg",
    "stw": "steenweg",
    "steenwg": "steenweg",
    "stnwg": "steenweg",
    "ln": "laan",
    "pl": "plein",
    "olv": "onze lieve vrouw",
}
_OLV = re.compile(r"\bo\s*\.?\s*l\s*\.?\s*v(?:r)?\b\.?")
_NAME_SPLIT = re.compile(r"[^a-z0-9]+")

# Street types, longest first: "Doorniksesteenweg" is a steenweg, not a weg.
STREET_TYPES: tuple[str, ...] = (
    "steenweg",
    "straat",
    "laan",
    "plein",
    "kaai",
    "dreef",
    "weg",
    "lei",
    "vest",
    "singel",
    "dijk",
    "pad",
    "baan",
    "reke",
    "plaats",
)
# Titles in front of a name that people drop ("de Tacklaan", "de Albertstraat").
TITLES = words(
    """koning koningin prins prinses minister burgemeester president graaf gravin monseigneur dokter
    professor pater kardinaal generaal kolonel kapitein luitenant onderpastoor pastoor kanunnik
    baron ridder senator schepen"""
)


def name_tokens(text: str) -> list[str]:
    """A name's tokens: folded, abbreviations expanded ("Kon. Albertstraat" -> koning albertstraat)."""
    text = _OLV.sub(" olv ", fold(text))
    out: list[str] = []
    for token in _NAME_SPLIT.split(text):
        if token:
            out.extend(ABBREVIATIONS.get(token, token).split())
    return out


def compact(tokens: list[str] | tuple[str, ...]) -> str:
    """The matching key of a name: its tokens without spaces ("Loof straat" = "Loofstraat")."""
    return "".join(tokens)


def split_type(key: str) -> tuple[str, str] | None:
    """("loof", "straat") for "loofstraat"; None when the key has no street-type ending."""
    if not key.endswith(STREET_TYPES):
        return None  # most keys (every word of a text the locator tries) end in no type: one C call
    for street_type in STREET_TYPES:
        if key.endswith(street_type) and len(key) > len(street_type) + 2:
            return key[: -len(street_type)], street_type
    return None


# "het was pas rechtgezet", "de vorige tags waren net weggewerkt", "had been fixed": the text says
# the earlier problem was dealt with, so this one is new (a negation in between is not matched:
# "is nog altijd niet hersteld" says the opposite).
_NOT = r"(?!niet\b|nog\b|nooit\b|not\b|never\b|pas encore\b)"
_REPAIRED = (
    rf"(?:was|werd|waren|werden|is|zijn) (?:{_NOT}\w+ ){{0,3}}(?:hersteld|gerepareerd|rechtgezet|teruggezet"
    r"|teruggeplaatst|vervangen|weggehaald|weggewerkt|verwijderd|gekuist|geveegd|opgeruimd)"
    rf"|(?:was|were|had been|has been|have been) (?:{_NOT}\w+ ){{0,2}}"
    r"(?:fixed|repaired|removed|cleaned|cleared)"
    r"|(?:a|avait|ont|avaient) ete (?:repare|nettoye|enleve|remis|retire)\w*"
)
# "weer kapot", "brandt opnieuw niet", "terug open na de herstelling", "broken again": it was
# repaired in between, so weeks after the first report it is a new failure, not the old one
# told again ("nog steeds kapot", "still broken" say the opposite and are not matched).
AGAIN = re.compile(
    r"\b(?:(?:weer|opnieuw|alweer|terug) (?:\w+ ){0,2}(?:kapot|stuk|defect|uit|niet|open|los|verstopt|gedumpt"
    r"|gespoten|beklad|nieuwe?|omver\w*|aangereden|omgereden|scheef"
    # "weer sluikstort", "opnieuw graffiti": the problem itself named again, with no state word.
    r"|sluikstort\w*|stort|graffiti|tags?)|nieuwe (?:graffiti|tags?|bekladding)"
    r"|new (?:graffiti|tags?)|(?:is|zijn) (?:er )?(?:weer|terug)|na de herstelling|after the repair"
    r"|(?:broken|out|down|back) again|again after|a nouveau|de nouveau"
    r"|" + _REPAIRED + r")\b"
)
