"""Dutch, French or English? Counted by function words, which every sentence has.

Enough for choosing the language of the acknowledgement; words shared by two of the
languages ("de", "en", "in", "is", "je") are left out so that they cannot tip the scale.
"""

from __future__ import annotations

import re

__all__ = ["detect_language", "text_language"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS: dict[str, frozenset[str]] = {
    "nl": _words(
        "het een van niet dat die op voor met zijn wordt werd ook maar nog bij naar hier daar deze "
        "dit wat geen mijn ons onze jullie ik u uw wij er al om aan heeft hebben kan kunnen "
        "moet moeten zou worden sinds omdat wanneer waar hoe graag alstublieft bedankt dank straat "
        "ligt staat week dag gisteren vandaag morgen stuk kapot goedendag beste geachte"
    ),
    "fr": _words(
        "le la les un une des du et est sont pas que qui dans pour sur avec nous vous il elle ce cette "
        "ces au aux mais ne mon ma mes votre vos notre nos leur été être avoir ont fait depuis rue "
        "bonjour madame monsieur merci svp cordialement devant chez très aussi l d qu j n c"
    ),
    "en": _words(
        "the an and are not of to that this it for with my you there have has was were be been i "
        "will would could should please thank thanks hello dear street since near broken from "
        "our your they"
    ),
}
# Apostrophes split tokens: French elisions ("l'arbre", "qu'il") then count as French words.
_TOKEN = re.compile(r"[a-zà-ÿ]+")
_SAMPLE = 5000  # characters: plenty to decide, and a 5 MB body costs no more
_MIN_HITS = 3  # below this a guess is noise (a one-line "Zie foto")
_MARGIN = 1.5  # the winner needs this many times the runner-up's hits


def detect_language(text: str) -> str | None:
    """ "nl", "fr" or "en" when the text clearly is one of them, else None."""
    counts = {lang: 0 for lang in _WORDS}
    for token in _TOKEN.findall(text[:_SAMPLE].lower()):
        for lang, words in _WORDS.items():
            counts[lang] += token in words
    ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    (best, hits), (_, runner_up) = ranked[0], ranked[1]
    if hits < _MIN_HITS or hits < runner_up * _MARGIN:
        return None
    return best


def text_language(text: str, subject: str | None = None) -> str | None:
    """A report's language: its text alone first, with the subject when the text is too short to
    tell (the e-mail channel's order; a subject is often a bare "Melding")."""
    return detect_language(text) or (detect_language(f"{subject}\n{text}") if subject else None)
