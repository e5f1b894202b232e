"""Words of a text as the locator reads street names: folded, abbreviations expanded ("str." ->
straat, "O.L.V." -> onze lieve vrouw), with where a separator ends a name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.dedupe.text import ABBREVIATIONS, fold

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BREAK = re.compile(r"[,;:!?()\[\]\n\r/]")


@dataclass
class Token:
    start: int
    end: int
    raw: str
    norm: str  # folded, abbreviation expanded, may hold spaces ("onze lieve vrouw")
    brk: bool  # a separator that ends a name comes before this token


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    last = 0
    for m in _WORD.finditer(text):
        raw = m.group()
        sep = text[last : m.start()]
        brk = bool(_BREAK.search(sep)) or ("." in sep and bool(tokens) and tokens[-1].norm not in _ABBREV_OUT)
        folded = _SUFFIX_ABBREVIATION.sub(lambda s: _SUFFIXES[s.group(1)], _spelling(fold(raw)))
        norm = ABBREVIATIONS.get(folded, folded)
        tokens.append(Token(m.start(), m.end(), raw, norm, bool(tokens) and brk))
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


# West-Flemish and old spellings of a name: "toekomststraete", "doorniksewyk", "kortryksestraat".
# A y between consonants is the old ij; a final one ("Lucky Lukestraat") is left alone.
_OLD_TYPE = re.compile(r"(?<=[a-z]{3})(?:straete|stroate|straote|stroat)$")
_OLD_IJ = re.compile(r"(?:(?<=^)|(?<=[bcdfghjklmnpqrstvwxz]))y(?=[bcdfghjklmnpqrstvwxz])")


def _spelling(word: str) -> str:
    return _OLD_IJ.sub("ij", _OLD_TYPE.sub("straat", word))


def span_text(tokens: list[Token], i: int, n: int) -> str:
    return " ".join(t.raw for t in tokens[i : i + n])
