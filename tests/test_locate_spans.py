"""The locator's span keys, joined once a text (gateway.dedupe.locate._Spans), and split_type's
fast reject: the same answers as computing each span and each type ending afresh."""

from __future__ import annotations

import pytest

from gateway.dedupe.locate import MAX_NGRAM, _Spans
from gateway.dedupe.text import STREET_TYPES, split_type
from gateway.dedupe.tokens import Token, tokenize

TEXTS = [
    "Losliggende tegel op het voetpad (17)",
    "Lamp uit in de Aalbeeksesteenweg aan t kruispunt met de Tacklaan",
    "O.L.V.-plein 3, sluikstort; aan de Burgemeester Nolfstraat nr 5-9 / Doorniksesteenweg",
    "een heel lange zin zonder enig leesteken die meer dan zes woorden achter elkaar telt en verder",
    "Rijselsestr. 12: put. Kortryksestraete heule 22\nmvg, Jan",
    "a",
    "",
]


def naive(tokens: list[Token], i: int, n: int) -> str | None:
    if any(tokens[j].brk for j in range(i + 1, i + n)):
        return None
    return "".join(tokens[j].norm.replace(" ", "") for j in range(i, i + n))


@pytest.mark.parametrize("text", TEXTS)
def test_span_keys_equal_joining_each_span(text: str) -> None:
    tokens = tokenize(text)
    spans = _Spans(tokens)
    assert list(spans) == tokens
    asked = 0
    for i in range(len(tokens)):
        for n in range(1, min(MAX_NGRAM + 3, len(tokens) - i) + 1):  # past MAX_NGRAM too
            assert spans.key(i, n) == naive(tokens, i, n), (text, i, n)
            asked += 1
    assert asked >= len(tokens)


def test_a_long_run_has_keys_past_max_ngram() -> None:
    spans = _Spans(tokenize(TEXTS[3]))
    assert spans.key(0, MAX_NGRAM + 2) == "eenheellangezinzonderenigleestekendie"
    assert spans.key(0, 2) == "eenheel"


@pytest.mark.parametrize(
    "key",
    ["loofstraat", "doorniksesteenweg", "weg", "xweg", "xxxweg", "tegel", "", "lei", "aalei", "grotemarkt"],
)
def test_split_type_as_the_plain_loop(key: str) -> None:
    plain = next(
        ((key[: -len(t)], t) for t in STREET_TYPES if key.endswith(t) and len(key) > len(t) + 2), None
    )
    assert split_type(key) == plain
