"""The classifier corpus stays valid: the checker passes and every dienst keeps enough examples."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

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
