"""SMS text: GSM-7 friendly normalisation, segment counting and splitting into numbered parts.

An SMS segment holds 160 GSM-7 septets, or 70 UCS-2 code units; a concatenated message spends
7 septets (3 code units) of every segment on its header, leaving 153 (67). One character outside
the GSM-7 alphabet turns the whole message into UCS-2, so typographic characters that word
processors and case systems like to insert (curly quotes, dashes, ellipsis, non-breaking
spaces) are replaced by their GSM-7 equivalents first. Characters of the GSM-7 extension table
(`^{}[]~|\\€` and form feed) take two septets.

A text longer than `max_segments` segments is split at sentence, else word, boundaries into
several messages numbered "(1/2) ..."; a word or URL is never cut (one longer than a whole
message is sent alone, over the limit, rather than broken).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_CONCAT = 160, 153
UCS2_SINGLE, UCS2_CONCAT = 70, 67

_REPLACEMENTS = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",
    "\u2032": "'",  # ′
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',
    "\u00ab": '"',  # « (French quotes)
    "\u00bb": '"',  # »
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",  # –
    "\u2014": "-",  # —
    "\u2015": "-",
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # …
    "\u00a0": " ",  # non-breaking space
    "\u2007": " ",
    "\u2009": " ",
    "\u202f": " ",  # narrow no-break space (French before : ; ! ?)
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
    "\u2022": "-",  # bullet
    "\t": " ",
}
_TRANSLATE = str.maketrans(_REPLACEMENTS)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalize(text: str) -> str:
    """Replace typographic characters by GSM-7 equivalents; nothing else is changed."""
    return text.translate(_TRANSLATE)


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def _units(text: str, gsm: bool) -> list[int]:
    """What each character costs: septets in GSM-7, UTF-16 code units in UCS-2."""
    if gsm:
        return [2 if c in GSM_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


@dataclass(frozen=True)
class Encoding:
    name: str  # "GSM-7" or "UCS-2"
    units: int  # septets or code units
    segments: int


def encoding(text: str) -> Encoding:
    """The encoding a text will be sent in and how many segments it takes."""
    gsm = is_gsm(text)
    units = _units(text, gsm)
    single, concat = (GSM_SINGLE, GSM_CONCAT) if gsm else (UCS2_SINGLE, UCS2_CONCAT)
    total = sum(units)
    if total <= single:
        return Encoding("GSM-7" if gsm else "UCS-2", total, 1 if text else 0)
    # An escape pair or a surrogate pair is never split over two segments: pack greedily.
    segments, used = 1, 0
    for cost in units:
        if used + cost > concat:
            segments, used = segments + 1, 0
        used += cost
    return Encoding("GSM-7" if gsm else "UCS-2", total, segments)


def segments(text: str) -> int:
    return encoding(text).segments


def split(text: str, max_segments: int) -> list[str]:
    """The messages to send for `text`: one when it fits in `max_segments` segments, else
    numbered parts "(k/n) ..." that each fit, cut at sentence or word boundaries."""
    text = normalize(text).strip()
    if segments(text) <= max_segments:
        return [text]
    count = 9  # the numbering's width depends on the number of parts: widen until it holds
    parts = _pack(text, max_segments, prefix_width=len(f"({count}/{count}) "))
    while len(str(len(parts))) > len(str(count)):
        count = 10 ** len(str(len(parts))) - 1
        parts = _pack(text, max_segments, prefix_width=len(f"({count}/{count}) "))
    return [f"({k}/{len(parts)}) {part}" for k, part in enumerate(parts, 1)]


def _pack(text: str, max_segments: int, prefix_width: int) -> list[str]:
    """Greedy: whole sentences while they fit, words of a sentence that does not fit alone."""
    pad = "x" * prefix_width  # the numbering is ASCII: it costs one unit a character either way

    def fits(candidate: str) -> bool:
        return segments(pad + candidate) <= max_segments

    parts: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        joined = f"{current} {sentence}".strip() if current else sentence
        if fits(joined):
            current = joined
            continue
        if current:
            parts.append(current)
            current = ""
        if fits(sentence):
            current = sentence
            continue
        for word in sentence.split():
            joined = f"{current} {word}" if current else word
            if fits(joined) or not current:  # a word longer than a message goes alone, uncut
                current = joined
            else:
                parts.append(current)
                current = word
    if current:
        parts.append(current)
    return parts
