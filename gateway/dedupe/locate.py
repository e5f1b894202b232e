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

from gateway.dedupe.housenumbers import NOT_A_NUMBER_AFTER, NUM_AFTER, NUMBER_WORDS, OPPOSITE, house_number
from gateway.dedupe.place import NOWHERE, Place
from gateway.dedupe.register import NameMatch, Street, StreetRegister, parse_house_number
from gateway.dedupe.text import ABBREVIATIONS, STOPWORDS, compact, fold, name_tokens, words
from gateway.dedupe.tokens import Token, span_text, tokenize
from gateway.melding import Location, Melding

# How sure a name is right, by how it matched (see StreetRegister.lookup).
_NAME_SCORE = {"exact": 0.92, "alias": 0.88, "title-dropped": 0.85, "extra-type": 0.78, "other-type": 0.72}
PIN_RADIUS_M = 25.0  # uncertainty of a map pin or a phone's GPS fix
FUZZY_CUTOFF = 85.0  # rapidfuzz ratio (0-100) for a street name with typos
MAX_NGRAM = 6


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
# Words before a short name or a landmark's one-word alias that say it is a place ("aan het belfort";
# French and English: "pres du beffroi", "near the belfry").
_CUE_BEFORE = words(
    "in op aan langs de het t den hoek thv hoogte van tegenover rechtover tov bij naast achter nabij"
    " du au le la pres the near"
)
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
        tokens = _Spans(tokenize(text))
        if not tokens:
            return replace(NOWHERE, detail="no text")
        mentions = self._mentions(text, tokens, structured)
        closing = _CLOSING.search(text)
        for n, m in enumerate(mentions):
            stop = tokens[mentions[n + 1].start].start if n + 1 < len(mentions) else len(text)
            m.number, m.qualifier = house_number(text, tokens[m.start].start, tokens[m.end - 1].end, stop)
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
        best = self._landmark_on(max(mentions, key=self._rank), mentions)
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
                corner_key=self._crossing(best, mentions) if corner else None,
            )
        return place

    def _rank(self, m: _Mention) -> float:
        """How much a mention says where. A landmark the register cannot place ("the Leie", "het
        station") says less than a street it can ("the footbridge over the Leie near the Kasteelkaai")."""
        streets = [self.register.streets[k] for k in m.keys]
        vague = bool(streets) and all(s.kind == "landmark" and not s.has_position for s in streets)
        return m.score * m.weight * (0.75 if vague else 1.0)

    def _crossing(self, best: _Mention, mentions: list[_Mention]) -> str | None:
        """ "Lamp uit in de Aalbeeksesteenweg aan t kruispunt met de Tacklaan": the one other street
        named at a corner, known with a position (gateway.dedupe.corner judges a pin against it)."""
        if best.number or len(best.keys) != 1:
            return None  # a house number says where on the street better than a corner
        others = {m.keys for m in mentions if m.keys and m.keys != best.keys}
        if len(others) != 1:
            return None
        (keys,) = others
        if len(keys) != 1:
            return None
        street = self.register.streets.get(next(iter(keys)))
        if street is None or street.kind != "street" or not street.has_position:
            return None
        return street.key

    def _landmark_on(self, best: _Mention, mentions: list[_Mention]) -> _Mention:
        """ "Buurtcomité Veemarkt: aan de ingang van parking Veemarkt": a landmark named after the
        street also named (without a house number), and standing on it, says where on that street.
        (Another landmark beside a street, "Doorniksesteenweg, aan de Radio 2", leaves the street.)"""
        if best.number or len(best.keys) != 1:
            return best
        street = self.register.streets[next(iter(best.keys))]
        if street.kind != "street" or not street.has_position:
            return best
        for m in mentions:
            if m is best or len(m.keys) != 1 or m.weight < 1.0:
                continue  # ambiguous, or in the signature / the reporter's own address
            mark = self.register.streets[next(iter(m.keys))]
            if mark.kind != "landmark" or mark.lat is None or mark.lon is None:
                continue
            names = [mark.name, *mark.aliases]
            if not any(street.key in compact(name_tokens(n)) for n in names):
                continue
            if mark.radius_m < street.radius_m and street.on_street(mark.lat, mark.lon) >= 1.0:
                return m
        return best

    def _prefer_street(self, tokens: _Spans, m: _Mention) -> None:
        """ "parking Veemarkt nr 26": a house number belongs to the street inside a landmark's name."""
        if not m.keys or any(self.register.streets[k].kind == "street" for k in m.keys):
            return
        for n in range(m.end - m.start - 1, 0, -1):
            for i in range(m.start, m.end - n + 1):
                key = self._span_key(tokens, i, n)
                match = self.register.lookup(key) if key else None
                if match and all(self.register.streets[k].kind == "street" for k in match.keys):
                    m.keys, m.how, m.written = match.keys, match.how, span_text(tokens, i, n)
                    return

    def _display(self, m: _Mention) -> str:
        if len(m.keys) == 1:
            key = next(iter(m.keys))
            if key in self.register.streets:
                return self.register.streets[key].name
        return m.written

    def _mentions(self, text: str, tokens: _Spans, structured: bool) -> list[_Mention]:
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

    def _span_key(self, tokens: _Spans, i: int, n: int) -> str | None:
        return tokens.key(i, n)

    def _exact_at(self, tokens: _Spans, i: int) -> _Mention | None:
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
            return _Mention(i, i + n, match.keys, match.how, score, span_text(tokens, i, n))
        return None

    def _plausible(self, tokens: _Spans, i: int, n: int, match: NameMatch) -> bool:
        """Short one-word names and landmark aliases are common words: ask for context."""
        streets = [self.register.streets[k] for k in match.keys]
        key = self._span_key(tokens, i, n) or ""
        if n == 1 and (all(s.kind == "landmark" for s in streets) or len(key) <= 5):
            raw = tokens[i].raw
            cue = i > 0 and fold(tokens[i - 1].raw) in _CUE_BEFORE
            # "lamp dam 75 uit", "lamp dam nr 75": a street name (not a landmark's) and a house number.
            j = i + 1
            if j + 1 < len(tokens) and fold(tokens[j].raw) in NUMBER_WORDS and not tokens[j + 1].brk:
                j += 1
            after = tokens[j] if j < len(tokens) else None
            unit = tokens[j + 1].raw if j + 1 < len(tokens) else ""
            numbered = after is not None and after.raw.isdigit() and not after.brk
            numbered = numbered and not NOT_A_NUMBER_AFTER.match(unit)  # "dam 3 dagen": no address
            numbered = numbered and all(s.kind == "street" for s in streets)
            return raw[:1].isupper() or cue or numbered
        return True

    def _fuzzy_at(self, tokens: _Spans, i: int, structured: bool) -> _Mention | None:
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
        return _Mention(i, i + n, frozenset(keys), "fuzzy", confidence, span_text(tokens, i, n))

    def _base_at(self, text: str, tokens: _Spans, i: int, structured: bool) -> _Mention | None:
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
            numbered = bool(NUM_AFTER.match(text[tokens[i + n - 1].end : tokens[i + n - 1].end + 20]))
            if not (cue or numbered or structured):
                continue
            keys = frozenset(self.register.bases[key])
            return _Mention(i, i + n, keys, "base", 0.7 if len(keys) == 1 else 0.5, span_text(tokens, i, n))
        return None

    def _deelgemeente(self, tokens: list[Token], text: str) -> tuple[str | None, str | None]:
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
                spot = street.position(number_lo, number_hi, opposite=m.qualifier in OPPOSITE)
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


class _Spans(list[Token]):
    """A text's tokens with the compact key of every span the finders try (up to MAX_NGRAM tokens
    not crossing a separator), joined once a text: the three finders and the plausibility check ask
    for the same spans again and again (cProfile: ~120,000 joins over the streams' 841 meldingen)."""

    def __init__(self, tokens: list[Token]):
        super().__init__(tokens)
        parts = [t.norm.replace(" ", "") for t in tokens]
        count = len(tokens)
        self.keys: list[list[str]] = []
        for i in range(count):
            keys = [parts[i]]
            j = i + 1
            while j < count and j - i < MAX_NGRAM and not tokens[j].brk:
                keys.append(keys[-1] + parts[j])
                j += 1
            self.keys.append(keys)

    def key(self, i: int, n: int) -> str | None:
        """The compact key of tokens i .. i+n-1, None when a separator comes between them."""
        keys = self.keys[i]
        if n <= len(keys):
            return keys[n - 1]
        if len(keys) < MAX_NGRAM or any(self[j].brk for j in range(i + 1, i + n)):
            return None  # the run of tokens without a separator ends before i+n
        return "".join(self[j].norm.replace(" ", "") for j in range(i, i + n))


def _name_words(text: str) -> list[str]:
    return [ABBREVIATIONS.get(w, w) for w in re.split(r"[^a-z0-9]+", fold(text)) if w]
