"""The rules layer: route a melding to a dienst with weighted keywords, phrases and patterns.

The rules stay when a learned classifier arrives: they override it for sure cases and are
its fallback. So they must be precise: when the evidence is weak or split between diensten
the answer is "undecided" (dienst None, the 1777 triage queue), never a guess.

The rules and the thresholds live in `config/diensten.toml`; its header documents the
format and `gateway.classify.diensten_file` its shape. Everything is compiled once in
`RuleRouter.from_file`; `route()` then runs one
candidate regex over the normalized text, a dict lookup per candidate, a small precompiled
regex per candidate phrase, and the few raw patterns.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from gateway.classify import diensten_file
from gateway.classify.diensten_file import VETO, DienstenConfigError, DienstTable, RoutingSettings
from gateway.classify.prefilter import Prefilter, trie_regex
from gateway.melding import DIENST_CODES, RoutingDecision

__all__ = [
    "Dienst",
    "DienstenConfigError",
    "RuleRouter",
    "Routing",
    "RoutingSettings",
    "normalize_text",
]


@dataclass(frozen=True)
class Routing:
    dienst: str | None  # None = undecided -> triage, never a guess
    confidence: float  # 0..1; 0.0 when undecided
    rule: str | None  # the deciding rule, e.g. "rules:wegen:phrase:losliggend *tegel"
    alternatives: tuple[tuple[str, float], ...]  # top 3 (dienst, share of the evidence 0..1), best first

    @property
    def decided(self) -> bool:
        return self.dienst is not None

    def decision(self) -> RoutingDecision:
        """The routing as the worker records it (the deciding rule is its `routed_by`)."""
        return RoutingDecision(self.dienst, self.confidence, self.rule, self.alternatives)


@dataclass(frozen=True)
class Dienst:
    code: str
    name: str
    handled_by: str
    external: bool


# --------------------------------------------------------------------------- normalization

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_FOLD = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})
_NOT_KEPT_RE = re.compile(r"[^a-z0-9.?!;:]+")
_MARKS_RE = re.compile(r"[ .?!;:]*[.?!;:][ .?!;:]*")
# Street names are compounds that would otherwise trip stems ("Boomgaardstraat" is no tree).
_STREET_RE = re.compile(r"\b[a-z]{3,}(?:straat|laan|plein|dreef|steenweg|lei|kaai|singel|dijk|vest)\b")
_WORD_CHARS = "[a-z0-9]"
MAX_GAP = 4  # "..." in a phrase: at most this many words in between

# A keyword right after a preposition of place names where something is, not what is wrong: "a
# bicycle locked to the road sign", "rats near the bottle banks", "un vélo attaché au panneau"
# (issue 14). Such a word adds no weight (its negative weight and veto still apply); the same
# word elsewhere in the text counts as usual. Read on normalized text, so no accents.
_PLACE_PREPOSITIONS = (
    "naast|tegen|aan|an|bij|onder|tegenover|achter|nabij|vlakbij|rond|rondom|langs|ter hoogte van"
    "|in de buurt van|next to|near|nearby|beside|against|by|behind|opposite|under|underneath|at"
    "|in front of|chained to|locked to|tied to|attached to|leaning on|resting on|hanging from|hanging on"
    "|on top of|stuck to|pasted on"
    "|a cote|pres|contre|derriere|sous|devant|le long|au pied|au|aux|a"
)
_PLACE_ARTICLES = (
    "de|het|den|der|die|dat|dien|een|nen|e|t|the|a|an|this|that|la|le|les|l|un|une|du|des|d|onze|ons"
    "|our|my|mijn|men|uw|your|hun|zijn|z|its"
)
_PLACE_RE = re.compile(rf"(?:^| )(?:{_PLACE_PREPOSITIONS})(?: (?:{_PLACE_ARTICLES})){{0,2}} (?=[a-z])")
# French "a" is also the English article: only "a" followed by an article counts as "à".
# French "a" is also "has" ("il y a des rats"): not after y/il/elle/on/qui.
_NOT_PLACED_RE = re.compile(
    r"(?:^| )a (?:the|a|an|this|that|my|our|its|your|de|e|t) $|(?:^| )a $"
    r"|(?:^| )(?:y|il|elle|on|qui) a [a-z ]*$"
)
_COMPLEMENT_RE = re.compile(r"[a-z0-9]+ (?:de|d|du|des|a|van de|van het|van|of the|of) (?=[a-z])")
# Words that tell when, or what was done before, not what is wrong now: "after the pruning of the
# trees the sign was knocked over", "thanks for felling the dead tree, but now the lamp ...". Up to
# twelve words: "dank voor de snelle opvolging van mijn vorige melding over de straatlamp" names the
# old problem in its tenth.
_ASIDE_RE = re.compile(
    r"\b(?:(?:na|after|apres)(?: (?:het|de|t|the|le|la|les|l))? (?:snoei|kap|maai|werk|wegenwerk|herstel"
    r"|ophal|ledig|pruning|cutting|felling|mowing|works?\b|repair|collection|travaux|elagage|reparation"
    r"|collecte)[a-z]*(?: (?:van|of|des|du|de)(?: (?:de|het|t|the|la|le|les|l))? [a-z0-9]+)?"
    r"|(?:dank(?:u|je|jewel)?|bedankt|merci|thanks|thank you) (?:voor|om|pour|d|de|for)"
    r"(?: (?!maar\b|but\b|mais\b|nu\b|now\b)[a-z0-9]+){1,12})"
)

# A statement that something is fine is no evidence for its dienst ("een boom rust op de lantaarnpaal,
# de lamp zelf brandt nog", "the sign itself is fine", "l'eclairage fonctionne"): the thing and what
# is said of it are aside words (twelfth round). Without "zelf"/"itself" only where the statement
# ends there ("de lamp brandt weer ." and not "de lamp brandt nog overdag"), never when negated.
_FINE_STATE = (
    r"(?:is|zijn|are|est|sont) (?:nog |wel |still |toujours |encore )?"
    r"(?:in orde|ok|oke|okay|intact|intacte|fine|goed|en ordre|en bon etat)"
    r"|(?:brandt|branden|doet het|doen het|werkt|werken) (?:nog|wel)|(?:staat|staan) (?:nog )?(?:goed|recht)"
    r"|(?:still )?(?:works|burns|is on)|fonctionne(?:nt)?(?: encore| toujours| bien)?"
    r"|marche(?:nt)?(?: encore| bien)?"
)
_FINE_AGAIN = (
    r"(?:brandt|branden|doet het|doen het|werkt|werken) weer|(?:is|zijn) weer (?:in orde|ok|oke)"
    r"|works again|(?:is|are) (?:fine|ok|okay) now|(?:is )?back on"
    r"|fonctionne(?:nt)?(?: a nouveau| de nouveau| bien| normalement)?"
    # Fourteenth round: "lamp werkt gewoon" under a bee swarm hanging from the light pole (dev13).
    r"|(?:brandt|branden|doet het|doen het|werkt|werken) (?:gewoon|normaal)"
    r"|(?:works|burns|is on) (?:fine|normally)"
)
_FINE_RE = re.compile(
    rf"\b(?:[a-z]+ ){{0,2}}(?:zelf|zelve|itself|themselves|lui meme|elle meme|self) (?:{_FINE_STATE})\b"
    rf"|\b(?:[a-z]+ ){{1,2}}(?:{_FINE_AGAIN})(?= \.| \?| maar\b| but\b| mais\b| en\b| and\b| et\b|$)"
)
# The cheap pre-test: the words _FINE_RE needs; most texts have none.
_MAY_BE_FINE = re.compile(
    r"\b(?:zelf|zelve|itself|themselves|meme|self|weer|again|now|back on|fonctionne"
    r"|gewoon|normaal|fine|normally)"
)
_NEGATED_RE = re.compile(r" (?:niet|nie|ni|not|pas|plus|mal|nooit|never|geen)\b| (?:ne|n)$")


def _fine_statements(norm: str) -> list[tuple[int, int]]:
    """Spans of statements that something is fine (see _FINE_RE), negated ones left out."""
    spans = []
    for m in _FINE_RE.finditer(norm):
        after = norm[m.end() : m.end() + 6]
        before = norm[max(0, m.start() - 3) : m.start()]
        if not _NEGATED_RE.match(after) and not _NEGATED_RE.search(before) and " ne " not in m.group():
            spans.append((m.start(), m.end()))
    return spans


@functools.lru_cache(maxsize=4096)
def aside_words(norm: str) -> frozenset[int]:
    """Start positions of the words of normalized text that are not the subject: a word right after
    a preposition of place, and the words of an "after the pruning" / "thanks for" clause.
    Remembered, as `normalized`: the rules and then the model (`mark_places`) read each text."""
    starts: set[int] = set()
    for m in _PLACE_RE.finditer(norm):
        if not _NOT_PLACED_RE.search(norm, max(0, m.start() - 6), m.end()):
            starts.add(m.end())
            # ... and its complement: "au panneau de signalisation", "bij de paal van de verlichting"
            complement = _COMPLEMENT_RE.match(norm, m.end())
            if complement:
                starts.add(complement.end())
    spans = [(m.start(), m.end()) for m in _ASIDE_RE.finditer(norm)]
    if _MAY_BE_FINE.search(norm):
        spans += _fine_statements(norm)
    for start, end in spans:
        pos = start
        while pos != -1 and pos < end:
            starts.add(pos)
            pos = norm.find(" ", pos, end)
            pos = pos + 1 if pos != -1 else -1
    return frozenset(starts)


def mark_places(norm: str) -> str:
    """Normalized text with "@" before each word that is not the subject (`aside_words`), for the
    model: "naast de @verkeersbord" is another feature than "verkeersbord"."""
    starts = aside_words(norm)
    if not starts:
        return norm
    out, last = [], 0
    for pos in sorted(starts):
        out += [norm[last:pos], "@"]
        last = pos
    out.append(norm[last:])
    return "".join(out)


# People's names are not evidence ("Mevrouw De Kat belt", "Jan Boom" under a mail). A name after a
# title is masked; so is a short tail after a closing formula (the signature block).
_TITLED_NAME_RE = re.compile(
    r"\b(?:[Mm]eneer|[Mm]evrouw|[Mm]evr|[Dd]hr|[Mm]w|[Mm]rs?|[Mm]s|[Mm]me|[Mm]adame|[Mm]onsieur|[Ff]amilie)\.?"
    r"[ \t]+(?:(?:[Dd]e|[Vv]an|[Dd]er|[Dd]en|[Tt]er|[Tt]en|[Vv]anden|[Vv]ande|[Ll]e|[Ll]a|[Dd]u)[ \t]+)*"
    r"[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)?"
)
_CLOSING_RE = re.compile(
    r"\b(?:(?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)|mvg|kind regards|best regards|regards"
    r"|cordialement|salutations|bien (?:a|à) vous)\b",
    re.IGNORECASE,
)
SIGNATURE_MAX = 300  # a tail after a closing formula longer than this is still read


def drop_names(text: str) -> str:
    text = _TITLED_NAME_RE.sub(" naam ", text)
    closing = max(_CLOSING_RE.finditer(text), key=lambda m: m.start(), default=None)  # the last one
    if closing is not None and closing.start() >= 40 and len(text) - closing.end() <= SIGNATURE_MAX:
        text = text[: closing.start()]
    return text


@functools.lru_cache(maxsize=4096)
def normalized(text: str) -> str:
    """`normalize_text(drop_names(text))`, remembered: the rules and then the model read each text
    (`textcat.prepare`), a batch at a time; computed once, it is a tenth of a melding's routing."""
    return normalize_text(drop_names(text))


def _sentence_mark(m: re.Match[str]) -> str:
    return " ? " if "?" in m.group() else " . "


def normalize_text(text: str, *, mask_streets: bool = True) -> str:
    """Lowercase ascii words separated by single spaces; sentence ends become " . " or " ? ".

    E-mail addresses and URLs are dropped (signatures would otherwise leak words like
    "boom" from "jan.boom@..."); street names become "straatnaam".
    """
    text = text.lower().translate(_FOLD)
    if "@" in text:
        text = _EMAIL_RE.sub(" ", text)
    if "www." in text or "://" in text:
        text = _URL_RE.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _NOT_KEPT_RE.sub(" ", text)
    text = _MARKS_RE.sub(_sentence_mark, text)
    if mask_streets:
        text = _STREET_RE.sub("straatnaam", text)
    return " ".join(text.split())


# --------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True)
class _Word:
    stem: str
    inner: bool  # "*stem": may start inside a compound
    whole: bool  # "stem$": the word must end after the stem
    gap_before: bool  # "..." precedes this word


@dataclass(frozen=True)
class _Effect:
    dienst: str
    kind: str  # keyword | phrase | negative | pattern
    label: str  # the entry as written in the file
    weight: float  # > 0 adds; < 0 subtracts
    veto: bool
    order: int  # position in the file, to break ties deterministically


@dataclass
class _Entry:
    words: tuple[_Word, ...]
    effects: list[_Effect] = field(default_factory=list)
    regex: re.Pattern[str] | None = None  # phrases only
    positive: bool = False  # adds weight to some dienst (set when the router is built)

    @property
    def single(self) -> bool:
        return len(self.words) == 1


@dataclass
class _Pattern:
    regex: re.Pattern[str]
    effects: list[_Effect] = field(default_factory=list)


def _phrase_regex(words: tuple[_Word, ...]) -> re.Pattern[str]:
    parts: list[str] = []
    for i, w in enumerate(words):
        if i:
            if not words[i - 1].whole:
                parts.append(_WORD_CHARS + "*")  # the rest of the previous word
            parts.append(" ")
            if w.gap_before:
                parts.append(f"(?:{_WORD_CHARS}+ ){{0,{MAX_GAP}}}")
            if w.inner:
                parts.append(_WORD_CHARS + "*")
        parts.append(re.escape(w.stem))
        if w.whole:
            parts.append(r"\b")
    return re.compile("".join(parts))


# --------------------------------------------------------------------------- the router


class RuleRouter:
    def __init__(
        self,
        diensten: dict[str, Dienst],
        settings: RoutingSettings,
        entries: list[_Entry],
        patterns: list[_Pattern],
        source: str = "<rules>",
    ) -> None:
        self.diensten = diensten
        self.settings = settings
        self.source = source
        self._patterns = patterns
        self._prefilter = Prefilter([(p.regex, p) for p in patterns])  # which are worth searching
        # First stem -> entries starting with it; at a word start every entry applies, inside a
        # word only those whose first word is marked "*".
        self._at_start: dict[str, list[_Entry]] = {}
        self._inside: dict[str, list[_Entry]] = {}
        self._longest_stem = max((len(e.words[0].stem) for e in entries if e.single), default=0)
        for entry in entries:
            entry.positive = any(eff.weight > 0 for eff in entry.effects)
            first = entry.words[0]
            self._at_start.setdefault(first.stem, []).append(entry)
            if first.inner:
                self._inside.setdefault(first.stem, []).append(entry)
            if not entry.single:
                entry.regex = _phrase_regex(entry.words)
        # One scan finds every candidate position: the longest first stem at each word start, and
        # at each position inside a word the longest "*" stem. Shorter stems at the same position
        # are recovered by dict lookups of the prefixes of what was captured.
        alternatives = [rf"\b(?=({trie_regex(self._at_start)}))"] if self._at_start else []
        if self._inside:
            alternatives.append(rf"\B(?=({trie_regex(self._inside)}))")
        self._scan = re.compile("|".join(alternatives)) if alternatives else None
        # ... worked out once per stem: (length, entry) of every stem that begins it, shortest first.
        self._start_prefixes = {stem: _prefixed(self._at_start, stem) for stem in self._at_start}
        self._inside_prefixes = {stem: _prefixed(self._inside, stem) for stem in self._inside}

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_file(cls, path: Path) -> RuleRouter:
        path = Path(path)
        return _Loader(str(path)).build(diensten_file.load(path))

    # ----------------------------------------------------------------- routing

    def route(self, text: str, subject: str | None = None) -> Routing:
        scores, vetoed, best_rule = self._score(self._effects(self._normalize(text, subject)))

        ranked = sorted(
            ((code, s) for code, s in scores.items() if s > 0 and code not in vetoed),
            key=lambda cs: (-cs[1], DIENST_CODES.index(cs[0])),
        )
        total = sum(s for _, s in ranked)
        alternatives = tuple((code, round(s / total, 4)) for code, s in ranked[:3])
        if not ranked:
            return Routing(None, 0.0, None, ())

        top_code, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        margin = top - second
        st = self.settings
        if top < st.min_score or margin < st.min_margin or margin / top < st.min_margin_ratio:
            return Routing(None, 0.0, None, alternatives)
        # Strength saturates with the score; separation penalizes a close runner-up.
        confidence = (1.0 - math.exp(-top / st.saturation)) * math.sqrt(margin / top)
        return Routing(top_code, round(confidence, 4), best_rule.get(top_code), alternatives)

    def explain(self, text: str, subject: str | None = None) -> list[tuple[str, str, str, float | str]]:
        """What matched, for tuning the rules and for the triage view: (dienst, kind, term, weight or
        "veto"), in file order. Negative entries have a negative weight."""
        effects = sorted(self._effects(self._normalize(text, subject)), key=lambda e: e.order)
        return [(e.dienst, e.kind, e.label, VETO if e.veto else e.weight) for e in effects]

    def _normalize(self, text: str, subject: str | None) -> str:
        if subject and subject.strip():
            text = f"{subject} .\n{text}"  # a sentence break: phrases do not run from subject into body
        return normalized(text[: self.settings.max_chars])

    def _effects(self, norm: str) -> list[_Effect]:
        word_hits: list[tuple[int, int, _Entry]] = []
        matched: dict[int, _Entry] = {}
        hidden: dict[int, _Entry] = {}
        aside = aside_words(norm)  # word starts that are a place or an aside, not the subject
        if self._scan is not None:
            for m in self._scan.finditer(norm):
                pos = m.start()
                # The scan's tries hold whole stems only: what it captured is always a key.
                if m.group(1):
                    prefixed = self._start_prefixes[m.group(1)]
                else:
                    prefixed = self._inside_prefixes[m.group(2)]
                for n, entry in prefixed:
                    if entry.single:
                        end = pos + n
                        if entry.words[0].whole and end < len(norm) and norm[end].isalnum():
                            continue
                        word_hits.append((pos, end, entry))
                    else:
                        assert entry.regex is not None
                        if entry.regex.match(norm, pos):
                            word_start = norm.rfind(" ", 0, pos) + 1
                            aside_hit = entry.positive and word_start in aside
                            (hidden if aside_hit else matched)[id(entry)] = entry
        # A word hit inside a longer word hit that adds weight loses its own positive weight:
        # "straatlamp" hides "*lamp", a listed compound means what it says rather than what its
        # parts say. Negative weights and vetoes always apply ("wesp" inside "wespennest").
        reach: dict[int, int] = {}  # start -> furthest end of a hit with positive weight starting there
        for start, end, entry in word_hits:
            if entry.positive and end > reach.get(start, -1):
                reach[start] = end
        longest = self._longest_stem
        for start, end, entry in word_hits:
            # (a hit a few letters before this one that reaches as far: the few hits, not the letters)
            if reach.get(start, -1) > end or any(
                start - longest <= s < start and e >= end for s, e in reach.items()
            ):
                hidden[id(entry)] = entry
            elif entry.positive and norm.rfind(" ", 0, start) + 1 in aside:
                hidden[id(entry)] = entry  # a place, not the subject; counts if it occurs elsewhere
            else:
                matched[id(entry)] = entry

        effects: list[_Effect] = [eff for entry in matched.values() for eff in entry.effects]
        effects += [
            eff
            for key, entry in hidden.items()
            if key not in matched
            for eff in entry.effects
            if eff.veto or eff.weight < 0
        ]
        for pattern in self._prefilter.candidates(norm):
            if pattern.regex.search(norm):
                effects.extend(pattern.effects)
        return effects

    @staticmethod
    def _score(effects: list[_Effect]) -> tuple[dict[str, float], set[str], dict[str, str]]:
        scores: dict[str, float] = {}
        vetoed: set[str] = set()
        best: dict[str, _Effect] = {}
        for eff in effects:
            if eff.veto:
                vetoed.add(eff.dienst)
                continue
            scores[eff.dienst] = scores.get(eff.dienst, 0.0) + eff.weight
            if eff.weight > 0:
                cur = best.get(eff.dienst)
                if cur is None or (eff.weight, -eff.order) > (cur.weight, -cur.order):
                    best[eff.dienst] = eff
        rules = {code: f"rules:{code}:{eff.kind}:{_short(eff.label)}" for code, eff in best.items()}
        return scores, vetoed, rules


def _prefixed(index: dict[str, list[_Entry]], stem: str) -> tuple[tuple[int, _Entry], ...]:
    """(length, entry) of every stem of `index` that begins `stem` (itself too), shortest first."""
    return tuple((n, entry) for n in range(1, len(stem) + 1) for entry in index.get(stem[:n], ()))


def _short(label: str, limit: int = 80) -> str:
    """Rule names are stored with the melding; a long regex is cut (explain() shows it whole)."""
    return label if len(label) <= limit else label[: limit - 3] + "..."


# --------------------------------------------------------------------------- the matcher


_KIND_LABELS = {"keywords": "keyword", "phrases": "phrase", "negative": "negative"}


class _Loader:
    """Builds the matcher from a file whose shape `diensten_file` has checked; what remains to
    check needs the terms as the matcher reads them (normalized words)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.entries: dict[tuple[_Word, ...], _Entry] = {}
        self.patterns: dict[str, _Pattern] = {}
        self.order = 0  # position in the file, in DIENST_CODES order

    def fail(self, what: str, dienst: str) -> DienstenConfigError:
        return DienstenConfigError(f"{self.source}: dienst '{dienst}': {what}")

    def build(self, file: diensten_file.DienstenFile) -> RuleRouter:
        diensten = {code: self.dienst(code, file.dienst(code)) for code in DIENST_CODES}
        return RuleRouter(
            diensten, file.routing, list(self.entries.values()), list(self.patterns.values()), self.source
        )

    def dienst(self, code: str, table: DienstTable) -> Dienst:
        # "x" and "*x" in one dienst would count the same text twice.
        seen: dict[tuple[tuple[str, bool, bool], ...], str] = {}
        for kind, terms in (
            ("keywords", table.keywords),
            ("phrases", table.phrases),
            ("negative", table.negative),
        ):
            for term, value in terms.items():
                words = self.term(code, kind, term)
                key = tuple((w.stem, w.whole, w.gap_before) for w in words)
                if key in seen:
                    raise self.fail(f"{kind}: '{term}' is the same term as '{seen[key]}'", code)
                seen[key] = term
                veto = value == VETO
                weight = 0.0 if veto else float(value)
                label = _KIND_LABELS[kind]
                eff = _Effect(code, label, term, -weight if kind == "negative" else weight, veto, self.order)
                self.order += 1
                self.entries.setdefault(words, _Entry(words)).effects.append(eff)

        for source, value in table.patterns.items():
            veto = value == VETO
            self.patterns.setdefault(source, _Pattern(re.compile(source))).effects.append(
                _Effect(code, "pattern", source, 0.0 if veto else float(value), veto, self.order)
            )
            self.order += 1
        return Dienst(code=code, name=table.name, handled_by=table.handled_by, external=table.external)

    def term(self, code: str, kind: str, term: str) -> tuple[_Word, ...]:
        tokens = term.split()
        if not tokens:
            raise self.fail(f"{kind}: empty term", code)
        if kind == "keywords" and len(tokens) > 1:
            raise self.fail(f"keywords: '{term}' has several words; put it under phrases", code)
        if tokens[0] == "..." or tokens[-1] == "...":
            raise self.fail(f"{kind}: '{term}': '...' must stand between two words", code)
        words: list[_Word] = []
        gap = False
        for tok in tokens:
            if tok == "...":
                if gap:
                    raise self.fail(f"{kind}: '{term}': two '...' in a row", code)
                gap = True
                continue
            inner, whole = tok.startswith("*"), tok.endswith("$")
            core = tok[1 if inner else 0 : -1 if whole else None]
            parts = normalize_text(core, mask_streets=False).split()
            if not parts or any(not p.isalnum() for p in parts):
                raise self.fail(
                    f"{kind}: '{term}': '{tok}' must be letters or digits (with * or $ markers)", code
                )
            if "*" in core or "$" in core:
                raise self.fail(
                    f"{kind}: '{term}': '*' only at the start of a word, '$' only at the end", code
                )
            for i, part in enumerate(parts):
                words.append(_Word(part, inner and i == 0, whole and i == len(parts) - 1, gap and i == 0))
            gap = False
        if kind == "phrases" and len(words) < 2:
            raise self.fail(f"phrases: '{term}' is a single word; put it under keywords", code)
        # A lone short stem matches too much ("*ra" is in half the language); in a phrase it is fine.
        if len(words) == 1 and len(words[0].stem) < (3 if words[0].inner else 2):
            raise self.fail(f"{kind}: '{term}': stem too short to be precise", code)
        return tuple(words)
