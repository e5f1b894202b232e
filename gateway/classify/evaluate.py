"""Evaluation of the router on a labelled file: per-dienst scores, confusion, reliability, and the
issue-14 figures per channel and per language (macro-F1, triage share, precision of what is
routed automatically, confident mistakes).

Used by `gateway eval`. Every figure is computed on the file given (by default the held-out
split and the probe sets, which training never reads).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gateway.classify import model as m
from gateway.classify.calibration import macro_f1
from gateway.classify.router import Decision, HybridRouter
from gateway.classify.rules import RuleRouter
from gateway.melding import DIENST_CODES

BUCKETS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)
CONFIDENT = 0.9  # a routing this sure is never looked at again: a wrong one reaches the wrong dienst


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int


def per_dienst(gold: Sequence[str], pred: Sequence[str | None]) -> dict[str, Scores]:
    out: dict[str, Scores] = {}
    for code in DIENST_CODES:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == code and p == code)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != code and p == code)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == code and p != code)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        out[code] = Scores(precision, recall, f1, tp + fn)
    return out


def confusion(gold: Sequence[str], pred: Sequence[str | None]) -> Any:
    """Rows: the true dienst; columns: the predicted one (a last column for "none")."""
    matrix = np.zeros((len(DIENST_CODES), len(DIENST_CODES) + 1), dtype=int)
    for g, p in zip(gold, pred, strict=True):
        matrix[DIENST_CODES.index(g), DIENST_CODES.index(p) if p in DIENST_CODES else -1] += 1
    return matrix


def reliability(confidences: Sequence[float], correct: Sequence[bool]) -> list[tuple[str, int, float, float]]:
    """(bucket, count, mean confidence, accuracy) per confidence bucket: calibrated if they match."""
    conf = np.asarray(confidences, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    rows = []
    for lo, hi in zip(BUCKETS, BUCKETS[1:], strict=False):
        inside = (conf >= lo) & (conf < hi)
        n = int(inside.sum())
        label = f"{lo:.2f}-{min(hi, 1.0):.2f}"
        rows.append(
            (label, n, float(conf[inside].mean()) if n else 0.0, float(ok[inside].mean()) if n else 0.0)
        )
    return rows


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    total = len(confidences)
    return (
        sum(n / total * abs(c - a) for _, n, c, a in reliability(confidences, correct) if n) if total else 0.0
    )


@dataclass(frozen=True)
class Outcome:
    """The issue-14 figures of a set of meldingen."""

    count: int
    macro_f1: float  # of the best guess for each, triaged ones included
    triage_share: float
    auto_precision: float  # of what was routed automatically
    confident_wrong: int  # routed automatically with confidence >= CONFIDENT, to the wrong dienst

    @classmethod
    def of(cls, gold: Sequence[str], decisions: Sequence[Decision]) -> Outcome:
        auto = [(g, d) for g, d in zip(gold, decisions, strict=True) if not d.triage]
        return cls(
            count=len(gold),
            macro_f1=macro_f1(gold, [d.best for d in decisions]),
            triage_share=(len(gold) - len(auto)) / max(1, len(gold)),
            auto_precision=sum(1 for g, d in auto if g == d.best) / max(1, len(auto)),
            confident_wrong=sum(1 for g, d in auto if d.confidence >= CONFIDENT and g != d.best),
        )

    def cells(self) -> str:
        return (
            f"{self.count:>6}{self.macro_f1:>10.3f}{self.triage_share:>9.1%}"
            f"{self.auto_precision:>10.1%}{self.confident_wrong:>10}"
        )


OUTCOME_HEADER = f"{'meldingen':>6}{'macro-F1':>10}{'triage':>9}{'auto ok':>10}{'conf.wrong':>10}"


@dataclass
class Report:
    file: Path
    version: str
    threshold: float
    gold: list[str]
    decisions: list[Decision]
    model_pred: list[str]
    rules_pred: list[str | None]
    seconds: float
    channels: list[str | None]
    langs: list[str | None]

    @property
    def best(self) -> list[str | None]:
        return [d.best for d in self.decisions]

    @property
    def outcome(self) -> Outcome:
        return Outcome.of(self.gold, self.decisions)

    def outcome_by(self, keys: Sequence[str | None]) -> dict[str, Outcome]:
        """The figures per value of `keys` (channel or language), in first-seen order."""
        out: dict[str, Outcome] = {}
        for key in dict.fromkeys(k for k in keys if k):
            picked = [i for i, k in enumerate(keys) if k == key]
            out[key] = Outcome.of([self.gold[i] for i in picked], [self.decisions[i] for i in picked])
        return out

    def outcome_lines(self) -> list[str]:
        out = ["", f"{'':<14}{OUTCOME_HEADER}", f"{'all':<14}{self.outcome.cells()}"]
        for title, keys in (("channel", self.channels), ("language", self.langs)):
            for key, outcome in self.outcome_by(keys).items():
                out.append(f"{title + ' ' + key:<14}{outcome.cells()}")
        out.append(
            f"(triage: share sent to the desk; auto ok: share of the rest routed right; "
            f"conf.wrong: routed wrong with confidence >= {CONFIDENT})"
        )
        return out

    def lines(self) -> list[str]:
        n = len(self.gold)
        out = [f"model {self.version} on {self.file} ({n} meldingen)", ""]
        scores = per_dienst(self.gold, self.best)
        out.append(f"{'dienst':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for code, s in scores.items():
            out.append(f"{code:<14}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>9}")
        hybrid_f1 = macro_f1(self.gold, self.best)
        accuracy = np.mean([g == p for g, p in zip(self.gold, self.best, strict=True)])
        out += [
            "",
            f"macro-F1 rules + model (best guess for each): {hybrid_f1:.4f} (accuracy {accuracy:.4f})",
            f"macro-F1 model alone: {macro_f1(self.gold, self.model_pred):.4f}",
        ]
        decided = [(g, r) for g, r in zip(self.gold, self.rules_pred, strict=True) if r]
        if decided:
            right = sum(1 for g, r in decided if g == r)
            out.append(
                f"rules sure of {len(decided) / n:.1%} of them, {right / len(decided):.1%} right "
                "(they route only where the model agrees)"
            )
        auto = [(g, d) for g, d in zip(self.gold, self.decisions, strict=True) if not d.triage]
        triaged = n - len(auto)
        auto_right = sum(1 for g, d in auto if g == d.best)
        out.append(
            f"at triage_threshold {self.threshold:.2f}: {len(auto)} routed automatically "
            f"({auto_right / max(1, len(auto)):.1%} right), {triaged} to triage ({triaged / n:.1%})"
        )
        correct = [g == d.best for g, d in zip(self.gold, self.decisions, strict=True)]
        conf = [d.confidence for d in self.decisions]
        out += ["", "reliability (confidence bucket: meldingen, mean confidence, accuracy)"]
        for label, count, mean_conf, acc in reliability(conf, correct):
            if count:
                out.append(f"  {label}  {count:>5}  {mean_conf:.3f}  {acc:.3f}")
        out.append(f"  expected calibration error {expected_calibration_error(conf, correct):.3f}")
        out += self.outcome_lines()
        model_only = [d for d in self.decisions if d.rule and d.rule.startswith("model:")]
        if model_only:
            mc = [d.confidence for d in model_only]
            mok = [g == d.best for g, d in zip(self.gold, self.decisions, strict=True) if d in model_only]
            ece = expected_calibration_error(mc, mok)
            out.append(f"  (decided by the model alone: {len(mc)}, calibration error {ece:.3f})")
        out += ["", "confusion (rows: true dienst, columns: predicted, best guess)"]
        short = [c[:5] for c in DIENST_CODES]
        out.append(" " * 14 + "".join(f"{s:>6}" for s in short))
        for code, row in zip(DIENST_CODES, confusion(self.gold, self.best), strict=True):
            out.append(f"{code:<14}" + "".join(f"{v:>6}" for v in row[:-1]))
        out.append("")
        out.append(f"{n / self.seconds:.0f} meldingen/s through rules + model")
        return out


def summary_lines(reports: Sequence[Report]) -> list[str]:
    """One line of issue-14 figures per evaluated file, then per channel and language over all."""
    out = ["summary (best guess macro-F1; routed automatically at the triage threshold)"]
    out.append(f"{'file':<24}{OUTCOME_HEADER}")
    for report in reports:
        out.append(f"{report.file.name:<24}{report.outcome.cells()}")
    return out


def run(router: HybridRouter, rows: Sequence[m.LabelledText], file: Path) -> Report:
    assert router.model is not None
    started = time.perf_counter()
    decisions = router.decide_many([(r.text, r.subject) for r in rows])
    seconds = time.perf_counter() - started
    probs = router.model.predict([r.full_text for r in rows])
    channels = [r.channel for r in rows]
    return Report(
        file=file,
        version=router.model.version,
        threshold=router.threshold,
        gold=[r.dienst for r in rows],
        decisions=decisions,
        model_pred=[DIENST_CODES[i] for i in probs.argmax(axis=1)],
        rules_pred=[r.route_by(router.rules) for r in rows],
        seconds=seconds,
        channels=channels,
        langs=[r.lang for r in rows],
    )


def save_confusion_png(report: Report, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    matrix = confusion(report.gold, report.best)[:, :-1]
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(DIENST_CODES)), DIENST_CODES, rotation=45, ha="right")
    ax.set_yticks(range(len(DIENST_CODES)), DIENST_CODES)
    ax.set_xlabel("predicted dienst")
    ax.set_ylabel("true dienst")
    top = matrix.max() or 1
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                color = "white" if matrix[i, j] > top / 2 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    f1 = macro_f1(report.gold, report.best)
    ax.set_title(f"{report.file.name}: model {report.version}, macro-F1 {f1:.3f}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def compare_architectures(
    rules: RuleRouter, rows: Sequence[m.LabelledText], *, progress: bool = True
) -> list[tuple[str, float, float, float, float]]:
    """Train each architecture on the corpus (no calibration folds) and score it on `rows`.

    (architecture, macro-F1 model alone, macro-F1 with the rules, training seconds, meldingen/s).
    """
    corpus = m.load_corpus()
    gold = [r.dienst for r in rows]
    by_rules = [r.route_by(rules) for r in rows]
    results = []
    for arch in m.ARCHITECTURES:
        started = time.perf_counter()
        trained = m.train(corpus, m.TrainConfig(architecture=arch, folds=0), rules, progress=progress)
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        probs = m.raw_scores(trained.nlp, [r.full_text for r in rows])
        speed = len(rows) / (time.perf_counter() - started)
        pred = [DIENST_CODES[i] for i in probs.argmax(axis=1)]
        hybrid = [r or p for r, p in zip(by_rules, pred, strict=True)]
        results.append((arch, macro_f1(gold, pred), macro_f1(gold, hybrid), train_s, speed))
    return results
