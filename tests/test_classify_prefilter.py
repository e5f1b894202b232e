"""The rules' pattern prefilter (gateway/classify/prefilter.py): one scan says which patterns can
match, and it must never leave out one that does (issue 14: classify throughput)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.classify import rules as r
from gateway.classify.prefilter import Prefilter, required_strings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # the parser factors "mag|moet|..." into "m" and a group: the group is read on
        (r"\b(?:mag|mogen|moet|moeten)\b[^.?]{0,200}\b(?:in|bij)", {"mag", "mogen", "moet", "moeten"}),
        (r"\bput (?:it|the)\b", {"put it", "put the"}),
        (r"(?:^|[.?] )(?:hallo )?(?:wat|hoe)\b", {"wat", "hoe"}),  # optional parts say nothing
        (r"[ck]at\w* (?:loopt|zit)", {"at"}),  # a class ends nothing required after it
        (r"\b(?:vergete?n?|forgot) te", {"verget", "forgot"}),
        (r"(?i)Lamp(?:en)?", {"lamp"}),  # lowercased: the rules' text is lowercase
        (r"\bput\s+on|\b(?:you|we)\s+put", {"put", "you", "we"}),  # every alternative of the whole
        (r"(?:ab)+c", {"ab"}),  # a repeat taken at least once
        (r"\w+ kapot", {" kapot"}),  # a run of literals after a class
    ],
)
def test_the_strings_every_match_contains_are_read_from_the_pattern(pattern: str, expected: set[str]) -> None:
    assert required_strings(re.compile(pattern)) == expected


@pytest.mark.parametrize("pattern", [r"\w+\d", r"(?:x|)y?", r"[.?]\s\w", r"(?:lamp)?\d"])
def test_a_pattern_without_required_strings_is_always_searched(pattern: str) -> None:
    assert required_strings(re.compile(pattern)) is None
    prefilter = Prefilter([(re.compile(pattern), "always"), (re.compile(r"\blamp"), "lamp")])
    assert prefilter.candidates("niets hier") == ["always"]
    assert prefilter.candidates("de lamp is kapot") == ["always", "lamp"]


def test_a_shorter_string_inside_or_at_the_start_of_a_longer_one_is_found() -> None:
    # the scan reports the longest string at a position: "rat" at "ratten", "bak" inside "vuilbak"
    prefilter = Prefilter(
        [(re.compile(r"\brat\b"), "rat"), (re.compile(r"bak\b"), "bak"), (re.compile(r"\bratten"), "ratten")]
    )
    assert prefilter.candidates("veel ratten") == ["rat", "ratten"]
    assert prefilter.candidates("een volle vuilbak") == ["bak"]
    assert prefilter.candidates("niets") == []


def _texts() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for path in sorted((ROOT / "gateway" / "classify" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((row["text"], row.get("subject")))
    return out


def test_no_shipped_pattern_that_matches_a_corpus_text_is_left_out() -> None:
    router = r.RuleRouter.from_file(ROOT / "config" / "diensten.toml")
    patterns = router._patterns
    assert patterns, "the shipped rules have patterns"
    matched = 0
    for text, subject in _texts():
        norm = router._normalize(text, subject)
        chosen = {id(p) for p in router._prefilter.candidates(norm)}
        for pattern in patterns:
            if pattern.regex.search(norm):
                matched += 1
                assert id(pattern) in chosen, (pattern.regex.pattern[:60], text[:80])
    assert matched > 500  # the check saw the patterns at work


def test_the_rules_and_the_model_share_one_normalization_of_a_text() -> None:
    text = "Mevrouw De Kat belt: de lamp naast de bushalte brandt niet. Met vriendelijke groeten, Jan"
    assert r.normalized(text) == r.normalize_text(r.drop_names(text))
    assert r.normalized(text) is r.normalized(text)  # remembered
    starts = r.aside_words(r.normalized(text))
    assert isinstance(starts, frozenset)  # shared between callers: must not be changed by one
