"""Shared by tests/test_classify*.py: a small model trained once per test session.

The real training (4,336 corpus examples and over 13,000 dev lines, 3 calibration folds) takes
minutes; these tests need a model that behaves like one, not a good one: 40 examples per dienst,
4 epochs, 2 folds.
Always import this module as `tests.support.classify`, so the cache below is one.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from gateway.classify import model as m
from gateway.classify.rules import RuleRouter
from tests.support.data import ROOT

RULES_FILE = ROOT / "config" / "diensten.toml"
SMALL = m.TrainConfig(epochs=4, folds=2, length=2**14, train_on_dev=False)  # small: none of the dev lines
PER_DIENST = 40
# Four real dev sets, the calibration file and the newest-unseen one (TrainConfig.fresh_dev_file) among
# them: enough for the mechanics of training with dev lines (their folds, the temperature floors,
# determinism), some 560 lines where all the dev sets are over 13,000 and grow every round.
FEW_DEV_SETS = (
    "issue14-dev.jsonl",
    "issue14-dev3.jsonl",
    m.CALIBRATION_FILE.name,
    m.TrainConfig().fresh_dev_file,
)


@functools.cache
def rules() -> RuleRouter:
    return RuleRouter.from_file(RULES_FILE)


def subset(per_dienst: int = PER_DIENST) -> list[m.LabelledText]:
    """The first `per_dienst` corpus lines of every dienst (deterministic)."""
    seen: dict[str, int] = {}
    out = []
    for row in m.load_corpus():
        if seen.get(row.dienst, 0) < per_dienst:
            seen[row.dienst] = seen.get(row.dienst, 0) + 1
            out.append(row)
    return out


@functools.cache
def small_model_dir() -> Path:
    """A model directory holding one small trained model (`current` points at it). Do not modify."""
    directory = Path(tempfile.mkdtemp(prefix="gateway-test-model-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    m.save(m.train(subset(), SMALL, rules()), directory)
    return directory


def copy_of_small_model(target: Path) -> Path:
    """A private copy, for tests that damage or replace the model."""
    shutil.copytree(small_model_dir(), target)
    return target


@functools.cache
def full_model_dir() -> Path:
    """A model trained on the whole corpus, without the dev sets' lines (2 calibration folds instead
    of the default 3, fitted beside the model). The real model also trains on the dev lines (15,564
    since the thirty-second round): fitting that here cost 4 to 6 minutes of the suite's 15, so the traps
    are checked on the corpus's own model, and the real model's routing by `gateway eval`'s figures.

    For the tests of what a model trained on the corpus does with the traps of issue 14. Do not modify.
    """
    directory = Path(tempfile.mkdtemp(prefix="gateway-test-full-model-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    m.save(m.train(m.load_corpus(), m.TrainConfig(folds=2, train_on_dev=False), rules()), directory)
    return directory


def use_few_dev_sets(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Training in this test reads FEW_DEV_SETS as the dev sets (in the parent: the fits in other
    processes get their rows from it)."""
    files = [m.DEV_DIR / name for name in FEW_DEV_SETS]
    assert m.CALIBRATION_FILE in files and all(path.exists() for path in files)
    monkeypatch.setattr(m, "dev_files", lambda: files)
    return files
