"""Calibration of the routing model: the temperature and the precision of rule decisions.

Computed from out-of-fold probabilities (`gateway.classify.model` trains the folds): numbers in,
numbers out, so it knows nothing of spaCy. The folds are stratified and seeded, so the same rows
give the same folds, temperature and figures.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gateway.melding import DIENST_CODES


def apply_temperature(probs: Any, temperature: float) -> Any:
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probs: Any, gold: Any) -> float:
    """The temperature minimizing the negative log-likelihood (a grid on a log scale is plenty)."""
    if len(gold) == 0:
        return 1.0
    best, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.2), math.log(5.0), 241)):
        p = apply_temperature(probs, float(t))[np.arange(len(gold)), gold]
        nll = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
        if nll < best_nll - 1e-12:
            best, best_nll = float(t), nll
    return round(best, 4)


def stratified_folds(diensten: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """Row indices per fold: each dienst's rows spread evenly over the folds, in a seeded order."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for code in DIENST_CODES:
        idx = [i for i, dienst in enumerate(diensten) if dienst == code]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[j % k].append(i)
    return [sorted(f) for f in folds]


def macro_f1(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    scores = []
    for code in DIENST_CODES:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == code and p == code)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != code and p == code)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == code and p != code)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def subset_temperature(oof: Any, gold_codes: Sequence[str], keep: Sequence[bool]) -> float | None:
    """The temperature fitted on the out-of-fold rows `keep` marks (None if it marks none). On the
    dev lines: one calibration file of 150 fitted 0.96 once dev11 was trained on, where a model
    without dev11 needed 1.33 on it; the dev lines' own folds are a second floor (twelfth round)."""
    mask = np.array(keep, dtype=bool)
    if not mask.any():
        return None
    gold = np.array([DIENST_CODES.index(code) for code in gold_codes])
    return fit_temperature(oof[mask], gold[mask])


@dataclass
class Calibration:
    temperature: float = 1.0
    rules_agree_precision: float = 0.99  # a rule decision the model agrees with
    rules_disagree_precision: float = 0.8  # a rule decision the model disagrees with
    cv: dict[str, float] = field(default_factory=dict)


def calibrate(oof: Any, gold_codes: Sequence[str], by_rule: Sequence[str | None], folds: int) -> Calibration:
    """From out-of-fold probabilities (rows x DIENST_CODES), each row's dienst and the rules' decision."""
    gold = np.array([DIENST_CODES.index(code) for code in gold_codes])
    undecided = np.array([d is None for d in by_rule])
    # Fit where the model's confidence decides (rules undecided); all rows if that is too few.
    mask = undecided if undecided.sum() >= 100 else np.ones(len(gold_codes), dtype=bool)
    temperature = fit_temperature(oof[mask], gold[mask])
    top = [DIENST_CODES[i] for i in oof.argmax(axis=1)]
    agree = [(d == g) for d, t, g in zip(by_rule, top, gold_codes, strict=True) if d and d == t]
    disagree = [(d == g) for d, t, g in zip(by_rule, top, gold_codes, strict=True) if d and d != t]
    hybrid = [d or t for d, t in zip(by_rule, top, strict=True)]

    def smoothed(hits: list[bool]) -> float:  # Laplace: a handful of cases must not give 0 or 1
        return round((sum(hits) + 1) / (len(hits) + 2), 4)

    return Calibration(
        temperature=temperature,
        rules_agree_precision=smoothed(agree),
        rules_disagree_precision=smoothed(disagree),
        cv={
            "folds": folds,
            "model_macro_f1": round(macro_f1(gold_codes, top), 4),
            "hybrid_macro_f1": round(macro_f1(gold_codes, hybrid), 4),
            "rules_decided": int((~undecided).sum()),
            "rules_disagreements": len(disagree),
        },
    )
