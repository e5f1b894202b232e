"""Where a melding is about: coordinates and addresses from forms and apps, else the text.

Order of trust: a map pin / GPS fix (lat, lon) > a structured address (street, house
number, or the form's address line) > what the text says. The text is searched for street
names of the register (exact after normalizing abbreviations and spacing, then a missing
title or a wrong/extra type word, then fuzzy with rapidfuzz for typos), landmarks,
deelgemeenten and house numbers ("nr 5-9", "tegenover nummer 7", "ter hoogte van 12").

Nothing is invented: no match means no location (source "none") with the reason. A street
name the register does not know is kept as written, without coordinates, at low confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from gateway.dedupe.register import NameMatch, Street, StreetRegister, parse_house_number
from gateway.dedupe.text import ABBREVIATIONS, STOPWORDS, compact, fold, words
from gateway.melding import Location, Melding

# How sure a name is right, by how it matched (see StreetRegister.lookup).
_NAME_SCORE = {"exact": 0.92, "alias": 0.88, "title-dropped": 0.85, "extra-type": 0.78, "other-type": 0.72}
PIN_RADIUS_M = 25.0  # uncertainty of a map pin or a phone's GPS fix
FUZZY_CUTOFF = 85.0  # rapidfuzz ratio (0-100) for a street name with typos
MAX_NGRAM = 6


@dataclass(frozen=True)
class Place:
    """A melding's location as found, with how sure and why."""

    source: str  # pin | address | text | none
    confidence: float  # 0..1
    street: str | None = None  # the register's name, or as written when not in the register
    street_key: str | None = None  # compact normalized name: equal for equal streets
    registered: bool = False
    postcode: str | None = None
    deelgemeente: str | None = None
    house_number: str | None = None  # as found: "12", "5-9", "14A"
    number_lo: int | None = None
    number_hi: int | None = None
    landmark: bool = False
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None  # uncertainty of (lat, lon)
    detail: str = ""  # what matched, or why nothing did

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def number(self) -> float | None:
        if self.number_lo is None:
            return None
        return (self.number_lo + (self.number_hi or self.number_lo)) / 2

    def as_dict(self) -> dict[str, object]:
        out = {
            "source": self.source,
            "confidence": round(self.confidence, 2),
            "street": self.street,
            "house_number": self.house_number,
            "postcode": self.postcode,
            "deelgemeente": self.deelgemeente,
            "landmark": self.landmark or None,
            "lat": None if self.lat is None else round(self.lat, 6),
            "lon": None if self.lon is None else round(self.lon, 6),
            "radius_m": None if self.radius_m is None else round(self.radius_m),
            "detail": self.detail,
        }
        return {k: v for k, v in out.items() if v is not None}


NOWHERE = Place(source="none", confidence=0.0, detail="no location given")


@dataclass
class _Token:
    start: int
    end: int
    raw: str
    norm: str  # folded, abbreviation expanded, may hold spaces ("onze lieve vrouw")
    brk: bool  # a separator that ends a name comes before this token


@dataclass
class _Mention:
    start: int  # token index
    end: int  # token index, exclusive
    keys: frozenset[str]
    how: str
    score: float  # 0..1 how sure the name is right
    written: str
    number: tuple[int, int, str] | None = None
    qualifier: str | None = None
    weight: float = 1.0  # how likely this mention is where the problem is


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BREAK = re.compile(r"[,;:!?()\[\]\n\r/]")
_STREETLIKE = re.compile(
    r"(?:str(?:aa?|ee|e|a)?t|staat|strat|straa?t|strt|laan|steenw\w*|stwg|plein|kaai|dreef|wijk|wyk|markt|lei|vest"
    r"|singel|dijk|reke|plaats)$"
)
_STRONG_TYPE = re.compile(r"(?:straat|laan|steenweg|plein|kaai|dreef)$")
_NOT_A_STREET = words(
    """straat steenweg plein laan kaai dreef markt wijk hoofdstraat zijstraat binnenstraat dwarsstraat
    voetpad fietspad wandelpad onderweg snelweg autoweg oprit verkeersplein speelplein kerkplein
    marktplein stadsplein rijweg zijweg"""
)
_CUE_BEFORE = words("in op aan langs de het hoek thv hoogte van tegenover tov bij naast achter nabij")
_CORNER = re.compile(r"\b(?:hoek|kruispunt|kruising|kruist|splitsing|rondpunt)\b", re.IGNORECASE)
_OWN_ADDRESS = re.compile(
    r"(?:ik woon|wij wonen|we wonen|woonachtig|mijn adres|ons adres|adres\s*:|afzender)"
    r"\s*(?:is\s*)?(?:in|op|aan)?\s*(?:de|het)?\s*$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"\b(?:(?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)|mvg|kind regards|best regards|cordialement)\b",
    re.IGNORECASE,
)
_NUM_AFTER = re.compile(
    r"^\.?[ \t]*,?[ \t]*(?:(?:nr|nummer|huisnummer|no|n°)\.?[ \t]*)?(\d{1,4})(?!\d)"
    r"(?:[ \t]?([a-zA-Z])(?![a-zA-Z]))?"
    r"(?:[ \t]*(?:-|–|tot|t/m|/|en)[ \t]*(\d{1,4})(?!\d))?"
)
_NUM_CUE = re.compile(
    r"(?P<cue>tegenover|rechtover|recht over|t\.?\s?o\.?\s?v\.?|ter hoogte van|t\.?\s?h\.?\s?v\.?"
    r"|voor|naast|aan|bij|achter|vlakbij|aan de overkant van)?"
    r"\s*(?:het |de )?(?:huis |woning |gebouw )?(?:met )?"
    r"(?:nr|nummer|huisnummer|no|numero|numéro|n°)\.?\s*(?P<lo>\d{1,4})(?!\d)(?:\s*(?:-|–|tot|t/m)\s*(?P<hi>\d{1,4})(?!\d))?",
    re.IGNORECASE,
)
# "tegenover 80", "thv 16", "devant le 133", "in front of 54": these cues name a house number
# without "nr" (French and English ones only before a bare number: "devant le 2e", "outside 2pm").
_NUM_CUE_BARE = re.compile(
    r"\b(?:(?P<cue>tegenover|rechtover|recht over|t\.?\s?o\.?\s?v\.?|ter hoogte van|t\.?\s?h\.?\s?v\.?"
    r"|aan de overkant van)\s+(?P<lo>\d{1,4})(?!\d)(?:\s*(?:-|–|tot|t/m)\s*(?P<hi>\d{1,4})(?!\d))?"
    r"|(?:devant le|en face du|à hauteur du|a hauteur du|au niveau du|in front of|outside|opposite)"
    r"\s+(?P<lo2>\d{1,4})(?![\w/-]))",
    re.IGNORECASE,
)
_NOT_A_NUMBER_AFTER = re.compile(
    r"^\s*(?:uur|u\b|h\b|dagen|dag|weken|week|maanden|maand|jaar|keer|meter|m\b|cm|km|min|minuten|euro|%|x\b|"
    r"stuks|zakken|kg|liter)",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"\b(8\d{3})\b")


class Locator:
    def __init__(self, register: StreetRegister, deelgemeenten: dict[str, str] | None = None):
        self.register = register
        self.deelgemeenten = {fold(k): v for k, v in (deelgemeenten or {}).items()}
        for name, postcode in register.deelgemeenten.items():
            self.deelgemeenten.setdefault(name, postcode)

    # -- entry point -----------------------------------------------------------------------------

    def locate(self, melding: Melding) -> Place:
        loc = melding.location
        if loc.lat is not None and loc.lon is not None:
            return self._pin(loc)
        if loc.street or loc.address:
            found = self._structured(loc)
            if found.source != "none":
                return found
        text = "\n".join(t for t in (melding.subject, melding.text) if t)
        return self.from_text(text)

    def _pin(self, loc: Location) -> Place:
        assert loc.lat is not None and loc.lon is not None
        place = Place(
            source="pin",
            confidence=0.95,
            lat=loc.lat,
            lon=loc.lon,
            radius_m=PIN_RADIUS_M,
            postcode=loc.postcode,
            detail="coordinates from the form or app",
        )
        if loc.street or loc.address:
            named = self._structured(loc)
            if named.street_key:
                place = replace(
                    place,
                    street=named.street,
                    street_key=named.street_key,
                    registered=named.registered,
                    house_number=named.house_number,
                    number_lo=named.number_lo,
                    number_hi=named.number_hi,
                    postcode=named.postcode or loc.postcode,
                    deelgemeente=named.deelgemeente,
                    detail=f"coordinates from the form or app; {named.detail}",
                )
        return place

    def _structured(self, loc: Location) -> Place:
        if loc.street:
            line = loc.street + (f" {loc.house_number}" if loc.house_number else "")
            found = self.from_text(line, structured=True)
            if found.source == "none" and loc.street.strip():
                # The form says which street; the register does not know it: keep it as written.
                numbers = parse_house_number(loc.house_number or "")
                return Place(
                    source="address",
                    confidence=0.5,
                    street=loc.street.strip(),
                    street_key=compact(_name_words(loc.street)),
                    postcode=loc.postcode,
                    house_number=loc.house_number,
                    number_lo=numbers[0] if numbers else None,
                    number_hi=numbers[1] if numbers else None,
                    detail="street from the form, not in the street register",
                )
        else:
            assert loc.address is not None
            found = self.from_text(loc.address, structured=True)
        if found.source == "none":
            return found
        return replace(
            found,
            source="address",
            confidence=min(1.0, found.confidence + 0.05),
            postcode=found.postcode or loc.postcode,
            detail=f"form address: {found.detail}",
        )

    # -- text ------------------------------------------------------------------------------------

    def from_text(self, text: str, *, structured: bool = False) -> Place:
        tokens = _tokenize(text)
        if not tokens:
            return replace(NOWHERE, detail="no text")
        mentions = self._mentions(text, tokens, structured)
        closing = _CLOSING.search(text)
        for n, m in enumerate(mentions):
            stop = tokens[mentions[n + 1].start].start if n + 1 < len(mentions) else len(text)
            m.number, m.qualifier = self._house_number(text, tokens, m, stop)
            before = text[max(0, tokens[m.start].start - 40) : tokens[m.start].start]
            if _OWN_ADDRESS.search(before):
                m.weight *= 0.6  # the reporter's own address, which may not be where the problem is
            if closing and closing.start() >= 40 and tokens[m.start].start > closing.end():
                m.weight *= 0.6  # in the signature
            if m.number:
                m.weight *= 1.15
                self._prefer_street(tokens, m)
        deelgemeente, postcode = self._deelgemeente(tokens, text)
        if not mentions:
            if deelgemeente:
                return Place(
                    source="text",
                    confidence=0.3,
                    deelgemeente=deelgemeente,
                    postcode=postcode,
                    detail=f"only the deelgemeente ({deelgemeente}) is named",
                )
            return replace(NOWHERE, detail="no street, landmark or coordinates found in the text")
        best = max(mentions, key=lambda m: m.score * m.weight)
        distinct = {m.keys for m in mentions if m.keys}
        place = self._place(best, postcode, deelgemeente)
        if len(distinct) > 1:
            others = sorted({self._display(m) for m in mentions if m.keys != best.keys})
            corner = bool(_CORNER.search(text))
            factor = 0.9 if corner else 0.8
            place = replace(
                place,
                confidence=place.confidence * factor,
                detail=f"{place.detail}; {'corner with' if corner else 'also named'}: {', '.join(others)}",
            )
        return place

    def _prefer_street(self, tokens: list[_Token], m: _Mention) -> None:
        """ "parking Veemarkt nr 26": a house number belongs to the street inside a landmark's name."""
        if not m.keys or any(self.register.streets[k].kind == "street" for k in m.keys):
            return
        for n in range(m.end - m.start - 1, 0, -1):
            for i in range(m.start, m.end - n + 1):
                key = self._span_key(tokens, i, n)
                match = self.register.lookup(key) if key else None
                if match and all(self.register.streets[k].kind == "street" for k in match.keys):
                    m.keys, m.how, m.written = match.keys, match.how, _written(tokens, i, n)
                    return

    def _display(self, m: _Mention) -> str:
        if len(m.keys) == 1:
            key = next(iter(m.keys))
            if key in self.register.streets:
                return self.register.streets[key].name
        return m.written

    def _mentions(self, text: str, tokens: list[_Token], structured: bool) -> list[_Mention]:
        reg = self.register
        out: list[_Mention] = []
        # Exact names first, over the whole text; then typos and names without their type in what
        # is left (so that "dode boom Burgemeester Nolfstraat" is not read as a street "boom ...").
        taken = [False] * len(tokens)
        for finder in (
            self._exact_at,
            lambda t, i: self._fuzzy_at(t, i, structured),
            lambda t, i: self._base_at(text, t, i, structured),
        ):
            i = 0
            while i < len(tokens):
                found = None if taken[i] else finder(tokens, i)
                if found is None or any(taken[found.start : found.end]):
                    i += 1
                    continue
                out.append(found)
                taken[found.start : found.end] = [True] * (found.end - found.start)
                i = found.end
        out.sort(key=lambda m: m.start)
        # A street-like word the register does not know: kept as written, at low confidence.
        if not any(m.keys and any(reg.streets[k].kind == "street" for k in m.keys) for m in out):
            for i, tok in enumerate(tokens):
                norm = tok.norm.replace(" ", "")
                if (
                    _STRONG_TYPE.search(norm)
                    and len(norm) >= 9
                    and norm not in _NOT_A_STREET
                    and (tok.raw[:1].isupper() or structured)
                    and not any(m.start <= i < m.end for m in out)
                ):
                    start = i
                    while (
                        start > 0
                        and i - start < 3
                        and tokens[start - 1].raw[:1].isupper()
                        and not tokens[start].brk
                        and fold(tokens[start - 1].raw) not in STOPWORDS
                    ):
                        start -= 1
                    written = " ".join(t.raw for t in tokens[start : i + 1])
                    out.append(_Mention(start, i + 1, frozenset(), "unregistered", 0.4, written))
        return out

    def _span_key(self, tokens: list[_Token], i: int, n: int) -> str | None:
        if any(tokens[j].brk for j in range(i + 1, i + n)):
            return None
        return "".join(tokens[j].norm.replace(" ", "") for j in range(i, i + n))

    def _exact_at(self, tokens: list[_Token], i: int) -> _Mention | None:
        for n in range(min(MAX_NGRAM, len(tokens) - i), 0, -1):
            key = self._span_key(tokens, i, n)
            if key is None or len(key) < 3:
                continue
            match = self.register.lookup(key)
            if match is None:
                continue
            if not self._plausible(tokens, i, n, match):
                continue
            score = _NAME_SCORE.get(match.how, 0.7)
            return _Mention(i, i + n, match.keys, match.how, score, _written(tokens, i, n))
        return None

    def _plausible(self, tokens: list[_Token], i: int, n: int, match: NameMatch) -> bool:
        """Short one-word names and landmark aliases are common words: ask for context."""
        streets = [self.register.streets[k] for k in match.keys]
        key = self._span_key(tokens, i, n) or ""
        if n == 1 and (all(s.kind == "landmark" for s in streets) or len(key) <= 5):
            raw = tokens[i].raw
            cue = i > 0 and fold(tokens[i - 1].raw) in _CUE_BEFORE
            return raw[:1].isupper() or cue
        return True

    def _fuzzy_at(self, tokens: list[_Token], i: int, structured: bool) -> _Mention | None:
        """Typos: an n-gram ending in a street-like word, scored against the register's names."""
        best: tuple[float, int, str, list[tuple[str, float, int]]] | None = None
        for n in range(1, min(4, len(tokens) - i) + 1):
            key = self._span_key(tokens, i, n)
            if key is None or (n > 1 and fold(tokens[i].raw) in STOPWORDS):
                break
            if len(key) < 7 or not _STREETLIKE.search(key) or key in _NOT_A_STREET:
                continue
            if n == 1 and not (tokens[i].raw[:1].isupper() or structured or _STRONG_TYPE.search(key)):
                continue
            hits = process.extract(
                key, self.register.fuzzy_choices, scorer=fuzz.ratio, limit=3, score_cutoff=FUZZY_CUTOFF
            )
            if hits and (best is None or hits[0][1] > best[0]):
                best = (hits[0][1], n, key, hits)
        if best is None:
            return None
        score, n, _, hits = best
        top = self.register.variants[hits[0][0]]
        keys = set(top)
        for choice, other, _ in hits[1:]:
            if other >= score - 2:
                keys |= set(self.register.variants[choice])  # too close to call
        confidence = 0.55 + 0.35 * (score - FUZZY_CUTOFF) / (100 - FUZZY_CUTOFF)
        return _Mention(i, i + n, frozenset(keys), "fuzzy", confidence, _written(tokens, i, n))

    def _base_at(self, text: str, tokens: list[_Token], i: int, structured: bool) -> _Mention | None:
        """ "in de Minister Tack", "aan de Filips van de Elzas": the name without its type word."""
        for n in range(min(4, len(tokens) - i), 0, -1):
            key = self._span_key(tokens, i, n)
            if key is None or len(key) < 5 or key not in self.register.bases:
                continue
            if not tokens[i].raw[:1].isupper() and not structured:
                continue
            if n == 1 and fold(tokens[i].raw) in STOPWORDS:
                continue
            cue = i > 0 and fold(tokens[i - 1].raw) in _CUE_BEFORE
            numbered = bool(_NUM_AFTER.match(text[tokens[i + n - 1].end : tokens[i + n - 1].end + 20]))
            if not (cue or numbered or structured):
                continue
            keys = frozenset(self.register.bases[key])
            return _Mention(i, i + n, keys, "base", 0.7 if len(keys) == 1 else 0.5, _written(tokens, i, n))
        return None

    def _house_number(
        self, text: str, tokens: list[_Token], m: _Mention, stop: int
    ) -> tuple[tuple[int, int, str] | None, str | None]:
        after = text[tokens[m.end - 1].end : tokens[m.end - 1].end + 30]
        found = _NUM_AFTER.match(after)
        if found and not _NOT_A_NUMBER_AFTER.match(after[found.end() :]):
            lo = int(found.group(1))
            hi = int(found.group(3)) if found.group(3) else lo
            if lo < 1000 and hi < 1000 and hi >= lo and hi - lo <= 60:
                written = found.group(0).strip(" \t,.")
                written = re.sub(r"^(?:nr|nummer|huisnummer|no|n°)\.?\s*", "", written, flags=re.I)
                return (lo, hi, written), None
        # "tegenover nummer 7", "ter hoogte van nr 12": a number word in the same sentence, or in
        # the next ones before another street is named ("... in de Loofstraat? Thv nr 12 ...").
        start, _ = _sentence_bounds(text, tokens[m.start].start)
        end = min(stop, tokens[m.end - 1].end + 150)
        cues = [*_NUM_CUE.finditer(text, start, end), *_NUM_CUE_BARE.finditer(text, start, end)]
        for cue in sorted(cues, key=lambda c: c.start()):
            if cue.re is _NUM_CUE_BARE and _NOT_A_NUMBER_AFTER.match(text[cue.end() :]):
                continue
            groups = cue.groupdict()
            lo = int(groups.get("lo") or groups["lo2"])
            hi = int(groups["hi"]) if groups.get("hi") else lo
            if lo < 1000 and hi >= lo and hi - lo <= 60:
                qualifier = fold(groups["cue"]).strip() if groups.get("cue") else None
                written = f"{lo}-{hi}" if hi != lo else str(lo)
                return (lo, hi, written), qualifier
        return None, None

    def _deelgemeente(self, tokens: list[_Token], text: str) -> tuple[str | None, str | None]:
        for tok in tokens:
            name = fold(tok.raw)
            if name in self.deelgemeenten and name != "kortrijk":
                return tok.raw[:1].upper() + tok.raw[1:].lower(), self.deelgemeenten[name]
        code = _POSTCODE.search(text)
        if code and code.group(1) in self.deelgemeenten.values():
            return None, code.group(1)
        return None, None

    def _place(self, m: _Mention, postcode: str | None, deelgemeente: str | None) -> Place:
        number_lo = m.number[0] if m.number else None
        number_hi = m.number[1] if m.number else None
        written_number = m.number[2] if m.number else None
        if not m.keys:  # unregistered
            return Place(
                source="text",
                confidence=m.score * min(m.weight, 1.0),
                street=m.written,
                street_key=compact(_name_words(m.written)),
                postcode=postcode,
                deelgemeente=deelgemeente,
                house_number=written_number,
                number_lo=number_lo,
                number_hi=number_hi,
                detail=f"'{m.written}' is not in the street register",
            )
        streets = [self.register.streets[k] for k in sorted(m.keys)]
        if len(streets) > 1:
            narrowed = [s for s in streets if postcode in s.postcodes or deelgemeente in s.deelgemeenten]
            if len(narrowed) == 1:
                streets = narrowed
        if len(streets) > 1:
            names = " / ".join(s.name for s in streets)
            return Place(
                source="none",
                confidence=0.0,
                deelgemeente=deelgemeente,
                postcode=postcode,
                detail=f"'{m.written}' is ambiguous: {names}",
            )
        street = streets[0]
        return self._street_place(street, m, number_lo, number_hi, written_number, postcode, deelgemeente)

    def _street_place(
        self,
        street: Street,
        m: _Mention,
        number_lo: int | None,
        number_hi: int | None,
        written_number: str | None,
        postcode: str | None,
        deelgemeente: str | None,
    ) -> Place:
        how = {"exact": "named", "alias": "named", "fuzzy": "close to", "base": "name without type"}.get(
            m.how, m.how.replace("-", " ")
        )
        detail = f"{how} '{m.written}' -> {street.name}"
        confidence = m.score * min(m.weight, 1.0)
        lat = lon = radius = None
        if street.has_position:
            lat, lon, radius = street.lat, street.lon, street.radius_m
            if number_lo is not None and street.kind == "street":
                spot = street.position(number_lo, number_hi)
                if spot is not None:
                    lat, lon, radius = spot
                    detail += f", near nr {written_number}"
                    confidence = min(1.0, confidence + 0.05)
        if m.qualifier:
            detail += f" ({m.qualifier} nr {written_number})"
        return Place(
            source="text",
            confidence=round(confidence, 3),
            street=street.name,
            street_key=street.key,
            registered=True,
            postcode=postcode if postcode in street.postcodes else (street.postcodes[0] or None),
            deelgemeente=deelgemeente or (street.deelgemeenten[0] or None),
            house_number=written_number if street.kind == "street" else None,
            number_lo=number_lo if street.kind == "street" else None,
            number_hi=number_hi if street.kind == "street" else None,
            landmark=street.kind == "landmark",
            lat=lat,
            lon=lon,
            radius_m=radius,
            detail=detail,
        )


def _name_words(text: str) -> list[str]:
    return [ABBREVIATIONS.get(w, w) for w in re.split(r"[^a-z0-9]+", fold(text)) if w]


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    last = 0
    for m in _WORD.finditer(text):
        raw = m.group()
        sep = text[last : m.start()]
        brk = bool(_BREAK.search(sep)) or ("." in sep and bool(tokens) and tokens[-1].norm not in _ABBREV_OUT)
        folded = _SUFFIX_ABBREVIATION.sub(lambda s: _SUFFIXES[s.group(1)], fold(raw))
        norm = ABBREVIATIONS.get(folded, folded)
        tokens.append(_Token(m.start(), m.end(), raw, norm, bool(tokens) and brk))
        last = m.end()
    # "O.L.V." is three one-letter tokens
    for i in range(len(tokens) - 2):
        if [t.norm for t in tokens[i : i + 3]] == ["o", "l", "v"]:
            tokens[i].norm, tokens[i + 1].norm, tokens[i + 2].norm = "onze lieve vrouw", "", ""
    return tokens


# "Rijselsestr.", "Doorniksestwg", "Liebaertln": an abbreviated type glued to the name.
_SUFFIXES = {
    "str": "straat",
    "ln": "laan",
    "stwg": "steenweg",
    "stw": "steenweg",
    "steenw": "steenweg",
    "stnwg": "steenweg",
}
_SUFFIX_ABBREVIATION = re.compile(r"(?<=[a-z]{4})(str|stwg|stw|steenw|stnwg|ln)$")
_ABBREV_OUT = frozenset(ABBREVIATIONS.values()) | {"o", "l", "v", "nr"}


def _written(tokens: list[_Token], i: int, n: int) -> str:
    return " ".join(t.raw for t in tokens[i : i + n])


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
