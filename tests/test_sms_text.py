"""gateway/channels/twilio/segments.py: GSM-7 normalisation, segment counts, numbered parts."""

from __future__ import annotations

import re

import pytest

from gateway.channels.twilio.segments import encoding, is_gsm, normalize, segments, split

URL = "https://meldpunt.example/t/Zx3_kQ-9aB7cD1eF2gH4iJ5kL6mN8oP0"


def test_typographic_characters_become_gsm() -> None:
    text = "\u201cDe \u2018put\u2019 \u2013 of \u2014 het gat\u2026\u201d\u00a0nr\u202f12 \u00abok\u00bb"
    assert not is_gsm(text)
    assert normalize(text) == '"De \'put\' - of - het gat..." nr 12 "ok"'
    assert is_gsm(normalize(text))
    assert normalize("café, straße, Ñandú") == "café, straße, Ñandú"  # real letters are left alone


@pytest.mark.parametrize(
    "text, name, units, count",
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the GSM-7 alphabet
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not: the whole text is UCS-2
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 159 + "[", "GSM-7", 161, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair, two code units
        ("😀" * 36, "UCS-2", 72, 2),
        ("", "GSM-7", 0, 0),
    ],
)
def test_segment_counts(text: str, name: str, units: int, count: int) -> None:
    found = encoding(text)
    assert (found.name, found.units, found.segments) == (name, units, count)


def test_an_escape_pair_is_never_split_over_two_segments() -> None:
    # 152 septets, then "€" (2): it cannot take the 153rd septet alone, so it opens segment 2,
    # and 153 + 153 + 1 septets of text need three segments where a plain count says two.
    text = "a" * 152 + "€" + "a" * 152
    assert encoding(text).units == 306
    assert segments(text) == 3
    assert segments("a" * 306) == 2


def test_a_short_text_is_one_message_unchanged() -> None:
    text = f"Meldpunt 1777: uw melding 1777-2026-000001 is nu \u201cGepland\u201d. {URL}"
    assert split(text, 3) == [normalize(text)]


def test_a_long_text_is_split_at_sentences_into_numbered_parts() -> None:
    sentences = [f"Zin nummer {n} van dit bericht vertelt iets over de melding." for n in range(1, 16)]
    text = " ".join(sentences) + " " + URL
    parts = split(text, 1)
    assert len(parts) > 1
    numbers = [re.match(r"\((\d+)/(\d+)\) ", p).groups() for p in parts]  # type: ignore[union-attr]
    assert numbers == [(str(k), str(len(parts))) for k in range(1, len(parts) + 1)]
    assert all(segments(p) == 1 for p in parts)
    bodies = [re.sub(r"^\(\d+/\d+\) ", "", p) for p in parts]
    assert " ".join(bodies) == text  # nothing lost, nothing cut
    assert sum(URL in b for b in bodies) == 1
    # whole sentences while they fit: every part but the last ends a sentence
    assert all(b.endswith(".") for b in bodies[:-1])


def test_a_long_sentence_is_split_between_words_and_the_url_kept_whole() -> None:
    words = " ".join(f"woord{n}" for n in range(120))
    text = f"{words} {URL}"
    parts = split(text, 2)
    bodies = [re.sub(r"^\(\d+/\d+\) ", "", p) for p in parts]
    assert " ".join(bodies) == text
    assert all(segments(p) <= 2 for p in parts)
    assert all(set(b.split()) <= set(text.split()) for b in bodies)  # no word cut in two
    assert any(URL in b for b in bodies)


def test_ucs2_text_is_split_by_ucs2_limits() -> None:
    text = " ".join(["Votre signalement est traité, merci pour votre patience êtes-vous là ?"] * 6)
    assert not is_gsm(text)
    parts = split(text, 1)
    assert all(segments(p) == 1 and len(p) <= 70 for p in parts)
    assert " ".join(re.sub(r"^\(\d+/\d+\) ", "", p) for p in parts) == text


def test_a_word_longer_than_a_message_goes_alone_uncut() -> None:
    long_url = "https://meldpunt.example/t/" + "x" * 200
    parts = split(f"Zie {long_url} voor meer.", 1)
    assert any(long_url in p for p in parts)


def test_ten_or_more_parts_are_numbered_with_room_for_two_digits() -> None:
    text = " ".join(f"Zin {n} is kort maar telt mee in het geheel." for n in range(60))
    parts = split(text, 1)
    assert len(parts) >= 10
    assert parts[0].startswith(f"(1/{len(parts)}) ") and all(segments(p) == 1 for p in parts)
