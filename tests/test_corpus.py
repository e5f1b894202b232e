"""The classifier corpus stays valid: the checker passes and every dienst keeps enough examples."""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from collections import Counter
from types import ModuleType
from typing import Any

from gateway.melding import DIENST_CODES
from tests.support.data import ROOT

CORPUS = ROOT / "gateway" / "classify" / "corpus"


def test_corpus_checker_finds_no_problem() -> None:
    result = subprocess.run(
        [sys.executable, str(CORPUS / "check.py")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 error(s)" in result.stdout


def test_every_dienst_has_200_training_and_40_heldout_examples() -> None:
    training = {code: sum(1 for _ in (CORPUS / f"{code}.jsonl").open()) for code in DIENST_CODES}
    heldout = Counter(json.loads(line)["dienst"] for line in (CORPUS / "heldout.jsonl").open())
    assert {code: n for code, n in training.items() if n < 200} == {}
    assert {code: heldout[code] for code in DIENST_CODES if heldout[code] < 40} == {}


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_check", CORPUS / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checker_finds_paraphrases_at_each_splits_threshold() -> None:
    check = _checker()

    def row(where: str, split: str, text: str) -> dict[str, Any]:
        norm = check.normalize(text)
        return {
            "_where": where,
            "_split": split,
            "_norm": norm,
            "_tokens": frozenset(norm.split()),
            "dienst": "wegen",
            "text": text,
        }

    base = "de put in de straat voor ons huis is al weken niet hersteld en steeds dieper"
    seven_of_ten = "de put in de straat voor het huis is al maanden niet hersteld en nog dieper"
    nine_of_ten = "de put in de straat voor ons huis is al weken niet hersteld en wel dieper"
    rows = [
        row("train:1", "train", base),
        row("probe:1", "heldout", seven_of_ten),  # 0.6 <= Jaccard < 0.8 with train:1 and with dev:1
        row("dev:1", "heldout", base + " zie foto"),
        row("dev:2", "heldout", nine_of_ten + " zie foto"),  # >= 0.8 with dev:1
        row("train:2", "train", "een heel andere melding over een lamp die niet brandt in de avond"),
    ]
    scores = {
        (a["_where"], b["_where"]): check.jaccard(a["_tokens"], b["_tokens"])
        for a, b in itertools.combinations(rows, 2)
    }
    assert check.NEAR_HELDOUT <= scores[("train:1", "probe:1")] < check.NEAR
    assert check.NEAR_HELDOUT <= scores[("probe:1", "dev:1")] < check.NEAR
    assert scores[("dev:1", "dev:2")] >= check.NEAR
    found = {(a["_where"], b["_where"]) for _score, a, b in check.near_duplicates(rows)}
    # held out against training at the lower threshold, held out against held out only at the higher
    assert found == {("train:1", "probe:1"), ("train:1", "dev:1"), ("train:1", "dev:2"), ("dev:1", "dev:2")}
