"""The learned routing model: a spaCy `textcat` on `spacy.blank("nl")`, trained on the corpus.

Text preparation is the rules' own normalization (lowercase ascii, street names masked, the
signature after a closing formula dropped), done by the pipeline's tokenizer, so the saved
pipeline takes raw text. Three architectures can be trained (`gateway eval --compare` measures
them on the held-out split):

- `bow`: spaCy's TextCatBOW (word uni- and bigrams, a sparse linear model);
- `ensemble`: spaCy's TextCatEnsemble (a CNN tok2vec beside the same bag of words);
- `charbow` (default): the bag of words plus character 3-5-grams of every word, which carry
  typos, Flemish spellings and compounds ("vuilniszakken", "lantaarnpaal", "hondepoep") and
  French/English stems the corpus has few examples of. Best on held-out and fast.

Training rows: the corpus, the desk's decisions, and (since the ninth round of issue 14) the dev
sets (`dev/`, citizens'-style text written unlike the corpus) but one, CALIBRATION_FILE (README).

Calibration (`calibration.py`): k-fold cross-validation gives out-of-fold probabilities, on which the
precision of a rule decision is measured (the model agreeing or not). The temperature is fitted on
CALIBRATION_FILE, which no fit reads, never sharper than the folds', (twelfth round) the dev lines'
own folds' nor what the newest dev set needs scored by one more fit that leaves it out whole
(`fresh_dev_file`): the softest is used, all are kept (`temperature_dev`, `_folds`, ..., `_fresh_dev`).

Reproducible: fixed seeds, a fixed row order and a fixed fold assignment; the same rows and
configuration give the same weights. A model is stored as `<model_dir>/<version>/` (the spaCy
pipeline plus `gateway.json`: calibration, checksums, figures) where the version is keyed by the
hash of the training rows and the configuration; `<model_dir>/current` names the one in use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gateway import clock
from gateway.classify import fitting, parallel
from gateway.classify.calibration import (
    Calibration,
    apply_temperature,
    calibrate,
    fit_temperature,
    stratified_folds,
    subset_temperature,
)
from gateway.classify.mailtext import routing_parts
from gateway.classify.rules import RuleRouter
from gateway.classify.textcat import join_subject, register_spacy_functions
from gateway.config import ConfigError
from gateway.melding import DIENST_CODES

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger("gateway.classify")

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
HELDOUT_FILE = CORPUS_DIR / "heldout.jsonl"
PROBE_DIR = Path(__file__).resolve().parent / "probes"  # sets written apart: never trained or tuned on
PROBE_FILE = Path(__file__).resolve().parent / "probe.jsonl"
# Sets whose errors were looked at while developing (issue 14); training data since the ninth round, all
# but CALIBRATION_FILE, on which alone the temperature is fitted (docs/routing-rounds.md, "Ninth round").
DEV_DIR = Path(__file__).resolve().parent / "dev"
CALIBRATION_FILE = DEV_DIR / "issue14-dev8.jsonl"


def dev_files() -> list[Path]:
    return sorted(DEV_DIR.glob("*.jsonl"))


def dev_training_files() -> list[Path]:
    """The dev sets training reads: all but the calibration file."""
    return [p for p in dev_files() if p != CALIBRATION_FILE]


def evaluation_files() -> list[Path]:
    """What `gateway eval` scores by default: the held-out split, every probe set and the calibration
    dev set. The other dev sets are training data: a score on them says nothing."""
    return [HELDOUT_FILE, PROBE_FILE, *sorted(PROBE_DIR.glob("*.jsonl")), CALIBRATION_FILE]


MODEL_FORMAT = 6  # bump when what is stored or read changes (6: "werkt gewoon" marked fine)
META_FILE = "gateway.json"
POINTER_FILE = "current"
KEEP_VERSIONS = 5  # older versions than this (besides the current one) are pruned after training
ARCHITECTURES = ("charbow", "bow", "ensemble")


class ModelError(ConfigError):
    """The model cannot be used; the message names the file and what to do."""


class ModelMissing(ModelError):
    pass


class ModelCorrupt(ModelError):
    pass


# --------------------------------------------------------------------------- training data


@dataclass(frozen=True)
class LabelledText:
    text: str
    dienst: str
    subject: str | None = None
    source: str = "corpus"  # "corpus", "desk" or "dev"
    group: str | None = None  # a dev line's file name
    channel: str | None = None  # for the per-channel and per-language tables of `gateway eval`
    lang: str | None = None

    @cached_property  # read by every fit and the hash: ~0.5 ms a row (the e-mail and desk-note cuts)
    def full_text(self) -> str:
        """What the model reads: the subject and the body without greeting, quotes and footer."""
        return join_subject(*routing_parts(self.text, self.subject))

    def route_by(self, rules: RuleRouter) -> str | None:
        return rules.route(*routing_parts(self.text, self.subject)).dienst


def _labelled(obj: Any) -> LabelledText:
    return LabelledText(
        text=obj["text"],
        dienst=obj["dienst"],
        subject=obj.get("subject"),
        channel=obj.get("channel"),
        lang=obj.get("lang"),
    )


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> list[LabelledText]:
    """The training files, one per dienst, in DIENST_CODES order. Never the held-out split."""
    rows: list[LabelledText] = []
    for code in DIENST_CODES:
        path = corpus_dir / f"{code}.jsonl"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ModelError(f"{path}: cannot read the training corpus: {exc}") from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = _labelled(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ModelError(f"{path}:{n}: not a corpus line ({exc}); see corpus/README.md") from exc
            if row.dienst != code:
                raise ModelError(f"{path}:{n}: dienst {row.dienst!r} in the file of {code!r}")
            rows.append(row)
    return rows


def load_jsonl(path: Path) -> list[LabelledText]:
    """An evaluation file: JSON lines with `text` and `dienst` (and optional `subject`)."""
    rows: list[LabelledText] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = _labelled(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{path}:{n}: expected a JSON object with text and dienst ({exc})") from exc
        if row.dienst not in DIENST_CODES:
            raise ModelError(f"{path}:{n}: unknown dienst {row.dienst!r}")
        rows.append(row)
    return rows


def load_dev_training() -> list[LabelledText]:
    """The dev sets' lines training reads (`TrainConfig.train_on_dev`), file by file."""
    return [replace(r, source="dev", group=p.name) for p in dev_training_files() for r in load_jsonl(p)]


# --------------------------------------------------------------------------- configuration and hashing


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "charbow"
    epochs: int = 10
    batch_size: int = 32
    dropout: float = 0.2
    # The folds, which only measure, step only the columns a batch touches; the model, all (fitting.py)
    lazy_folds: bool = True
    seed: int = 1777
    ngram_size: int = 2  # word uni- and bigrams
    char_min: int = 3
    char_max: int = 5
    length: int = 2**18  # hashed feature rows: 2^18 x 10 labels x 4 bytes = 10 MB of weights
    folds: int = 3  # calibration folds, 0 = none (temperature 1); 3 since round 30: 4 cost a fifth more
    # The temperature from dev text (unlike the corpus; with train_on_dev CALIBRATION_FILE alone)
    # rather than the folds: on its own split the model is surer than on citizens' text (issue 14).
    calibrate_on_dev: bool = True
    # The dev sets but CALIBRATION_FILE are training rows (ninth round); since the twenty-second round
    # they include the nine older probes, moved to dev/ (docs/routing-rounds.md, "Twenty-second round").
    train_on_dev: bool = True
    dev_folds_floor: bool = True  # and never sharper than the dev lines' own folds (twelfth round)
    # Nor than the newest dev set needs, scored by a fit that never saw it, as each dev set was when
    # it was written: new writers' text (dev11 needed 1.33 where dev8 alone gave 0.96; "" for none;
    # each round names the dev set it wrote first, dev18 in the nineteenth; dev19, written apart, in the
    # twenty-first).
    fresh_dev_file: str = "issue14-dev19.jsonl"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ModelError(
                f"unknown architecture {self.architecture!r}; choose from {', '.join(ARCHITECTURES)}"
            )

    def lazy_fit(self, n: int) -> bool:
        """Whether fit `n` of `_fit_all` steps touched columns only: a calibration fold, not a later fit."""
        return self.lazy_folds and n < self.folds

    def textcat_config(self) -> dict[str, Any]:
        bow = {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "ngram_size": self.ngram_size,
            "no_output_layer": False,
            "length": self.length,
        }
        if self.architecture == "bow":
            return {"model": bow}
        if self.architecture == "ensemble":
            width = 64
            return {
                "model": {
                    "@architectures": "spacy.TextCatEnsemble.v2",
                    "tok2vec": {
                        "@architectures": "spacy.Tok2Vec.v2",
                        "embed": {
                            "@architectures": "spacy.MultiHashEmbed.v2",
                            "width": width,
                            "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                            "rows": [5000, 1000, 2500, 2500],
                            "include_static_vectors": False,
                        },
                        "encode": {
                            "@architectures": "spacy.MaxoutWindowEncoder.v2",
                            "width": width,
                            "window_size": 1,
                            "maxout_pieces": 3,
                            "depth": 2,
                        },
                    },
                    "linear_model": bow,
                }
            }
        return {
            "model": {
                "@architectures": "gateway.TextCatCharBOW.v1",
                "exclusive_classes": True,
                "ngram_size": self.ngram_size,
                "char_min": self.char_min,
                "char_max": self.char_max,
                "length": self.length,
            }
        }


def corpus_hash(rows: Sequence[LabelledText], config: TrainConfig) -> str:
    """Keys the model version: the rows in training order, the configuration, the format, and the
    text the model reads of each row (and of each dev row): a change of the text preparation
    (`routing_parts`) that changes what training reads names a new version by itself, one that
    changes nothing keeps the name. The tokenizer's own code is covered by MODEL_FORMAT."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": MODEL_FORMAT, "config": asdict(config)}, sort_keys=True).encode())
    for r in rows:
        h.update(
            b"\x1e" + json.dumps([r.dienst, r.subject, r.text, r.full_text], ensure_ascii=False).encode()
        )
    if config.train_on_dev or (config.calibrate_on_dev and config.folds >= 2):
        for path in dev_files():
            h.update(b"\x1d" + path.read_bytes())
            for d in load_jsonl(path):
                h.update(b"\x1f" + d.full_text.encode())
    return h.hexdigest()


def version_of(rows: Sequence[LabelledText], config: TrainConfig, digest: str | None = None) -> str:
    """`<architecture>-<hash>`; `digest`: the rows' `corpus_hash`, when it was taken already."""
    return f"{config.architecture}-{(digest or corpus_hash(rows, config))[:12]}"


# --------------------------------------------------------------------------- training


def new_pipeline(config: TrainConfig) -> Language:
    import spacy

    register_spacy_functions()
    nlp = spacy.blank("nl", config={"nlp": {"tokenizer": {"@tokenizers": "gateway.NormalizingTokenizer.v1"}}})
    textcat = nlp.add_pipe("textcat", config=config.textcat_config())
    for code in DIENST_CODES:
        textcat.add_label(code)  # type: ignore[attr-defined]
    return nlp


def _fit(
    rows: Sequence[LabelledText], config: TrainConfig, seed: int, tick: parallel.Tick, *, lazy: bool = False
) -> Language:
    from spacy.util import fix_random_seed

    fix_random_seed(seed)
    nlp = new_pipeline(config)
    plan = fitting.FitPlan(config.batch_size, config.epochs, seed, config.dropout)
    fitting.fit(nlp, [(r.full_text, r.dienst) for r in rows], plan, tick, lazy=lazy)
    return nlp


def raw_scores(nlp: Language, texts: Sequence[str], batch_size: int = 256) -> Any:
    """Uncalibrated textcat probabilities, shape (len(texts), 10) in DIENST_CODES order."""
    textcat = nlp.get_pipe("textcat")
    labels = list(textcat.labels)  # type: ignore[attr-defined]
    order = [labels.index(c) for c in DIENST_CODES]
    out = np.zeros((len(texts), len(DIENST_CODES)), dtype="float64")
    for start in range(0, len(texts), batch_size):
        docs = [nlp.make_doc(t) for t in texts[start : start + batch_size]]
        scores = textcat.model.predict(docs)  # type: ignore[attr-defined]
        out[start : start + len(docs)] = np.asarray(scores)[:, order]
    return out


def _fold_scores(
    rows: Sequence[LabelledText], config: TrainConfig, fold: list[int], n: int, tick: parallel.Tick
) -> Any:
    """Raw scores of the rows of fold `n` by a model fitted on the other folds (past the calibration
    folds: the fit that leaves the newest dev set out)."""
    held = set(fold)
    rest = [r for i, r in enumerate(rows) if i not in held]
    nlp = _fit(rest, config, config.seed + 1 + n, tick, lazy=config.lazy_fit(n))
    return raw_scores(nlp, [rows[i].full_text for i in fold])


def _fold_scores_in_child(
    rows: Sequence[LabelledText], fields: dict[str, Any], fold: list[int], n: int, tick: parallel.Tick
) -> Any:
    # The configuration travels as a dict: a TrainConfig pickles by its class's name, which the
    # tests replace in the parent.
    logging.getLogger("spacy").setLevel(logging.WARNING)
    return _fold_scores(rows, TrainConfig(**fields), fold, n, tick)


def _fit_all(
    rows: Sequence[LabelledText],
    config: TrainConfig,
    folds: list[list[int]],
    processes: int,
    tick: parallel.Tick,
) -> tuple[Any, Language]:
    """The out-of-fold scores and the model on all rows. With `processes` > 1 the folds are fitted
    in child processes while this one fits the final model: each fit is seeded on its own, so the
    result is the same as fitting them one after the other here."""
    oof = np.zeros((len(rows), len(DIENST_CODES)))
    if processes > 1 and folds:
        # spaCy's loop (past the calibration folds) first, beside the final fit: no core idle at the end
        order = sorted(range(len(folds)), key=config.lazy_fit)
        jobs = [(_fold_scores_in_child, (rows, asdict(config), folds[n], n)) for n in order]
        final = partial(_fit, rows, config, config.seed)
        try:
            done, nlp = parallel.run_beside(jobs, final, processes=processes, progress=tick)
        except parallel.FitFailed as exc:
            raise ModelError(f"training failed: {exc}") from exc
        scores = [s for _, s in sorted(zip(order, done, strict=True), key=lambda fit: fit[0])]  # folds' order
    else:
        scores = [_fold_scores(rows, config, fold, n, tick) for n, fold in enumerate(folds)]
        nlp = _fit(rows, config, config.seed, tick)
    for fold, fold_scores in zip(folds, scores, strict=True):
        oof[fold] = fold_scores
    return oof, nlp


@dataclass
class TrainedModel:
    nlp: Language
    version: str
    meta: dict[str, Any]


def train(
    rows: Sequence[LabelledText],
    config: TrainConfig = TrainConfig(),  # noqa: B008 (frozen dataclass)
    rules: RuleRouter | None = None,
    *,
    progress: bool = False,
    processes: int = 0,
) -> TrainedModel:
    """Cross-validated calibration and the final model on all rows (and the dev sets' training
    lines with `config.train_on_dev`), fitted in up to `processes` processes at once (0: one per
    core; 1: one after the other in this process)."""
    given = rows  # the version names these and the configuration, which covers the dev sets
    if config.train_on_dev:
        rows = [*rows, *load_dev_training()]
    if len({r.dienst for r in rows}) < len(DIENST_CODES):
        missing = sorted(set(DIENST_CODES) - {r.dienst for r in rows})
        raise ModelError(f"training needs examples of every dienst; none for {', '.join(missing)}")
    started = time.perf_counter()
    logging.getLogger("spacy").setLevel(logging.WARNING)  # its per-fit "Created vocabulary" lines are noise
    folds = stratified_folds([r.dienst for r in rows], config.folds, config.seed) if config.folds >= 2 else []
    is_fresh = [bool(folds) and r.group == config.fresh_dev_file for r in rows]
    fresh = [i for i, f in enumerate(is_fresh) if f]
    fits = [*folds, fresh] if fresh else folds  # the last fit's scores stand: the fresh file's unseen
    sizes = [len(rows)] + [len(rows) - len(f) for f in fits]
    _ = [r.full_text for r in parallel.checked(rows)]  # once, before the fold children get the rows
    bar = parallel.progress_bar(
        sum(config.epochs * math.ceil(n / config.batch_size) for n in sizes), progress
    )
    try:
        oof, nlp = _fit_all(rows, config, fits, processes or parallel.cores(), bar.update)
    finally:
        bar.close()
    calibration = Calibration()
    if folds:
        by_rule = [r.route_by(rules) if rules else None for r in rows]
        calibration = calibrate(oof, [r.dienst for r in rows], by_rule, config.folds)
    temperature, dev_temperature, dev_rows = calibration.temperature, None, 0
    if config.calibrate_on_dev and config.folds >= 2:
        calibration_files = [CALIBRATION_FILE] if config.train_on_dev else dev_files()
        dev = [r for path in calibration_files for r in load_jsonl(path)]
        if dev:
            gold = np.array([DIENST_CODES.index(r.dienst) for r in dev])
            # Never sharper than the folds: the dev sets share writers with some training lines.
            dev_temperature = fit_temperature(raw_scores(nlp, [r.full_text for r in dev]), gold)
            temperature = max(dev_temperature, calibration.temperature)
            dev_rows = len(dev)
    dev_folds_temperature = None
    if config.dev_folds_floor and config.train_on_dev and folds:
        is_dev = [r.source == "dev" for r in rows]
        dev_folds_temperature = subset_temperature(oof, [r.dienst for r in rows], is_dev)
        temperature = max(temperature, dev_folds_temperature or 0.0)
    fresh_temperature = subset_temperature(oof, [r.dienst for r in rows], is_fresh) if fresh else None
    temperature = max(temperature, fresh_temperature or 0.0)
    digest = corpus_hash(given, config)  # reads every dev line's text: once (3 s)
    version = version_of(given, config, digest)
    import spacy

    meta: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "version": version,
        "architecture": config.architecture,
        "corpus_hash": digest,
        "config": asdict(config),
        "labels": list(DIENST_CODES),
        "examples": {
            "corpus": sum(1 for r in rows if r.source == "corpus"),
            "desk": sum(1 for r in rows if r.source == "desk"),
            "dev": sum(1 for r in rows if r.source == "dev"),
        },
        "temperature": temperature,
        "temperature_folds": calibration.temperature,
        "temperature_dev": dev_temperature,
        "temperature_dev_rows": dev_rows,
        "temperature_dev_folds": dev_folds_temperature,
        "temperature_fresh_dev": fresh_temperature,
        "rules_agree_precision": calibration.rules_agree_precision,
        "rules_disagree_precision": calibration.rules_disagree_precision,
        "cv": calibration.cv,
        "trained_at": clock.now().isoformat(timespec="seconds"),
        "training_seconds": round(time.perf_counter() - started, 1),
        "spacy": spacy.__version__,
    }
    return TrainedModel(nlp=nlp, version=version, meta=meta)


# --------------------------------------------------------------------------- storing and loading


def _file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def save(trained: TrainedModel, model_dir: Path) -> Path:
    """Write `<model_dir>/<version>/` atomically and make it current; prune old versions."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / trained.version
    tmp = model_dir / f".tmp-{trained.version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    trained.nlp.to_disk(tmp / "nlp")
    meta = dict(trained.meta, files=_file_hashes(tmp / "nlp"))
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if target.exists():  # the same version again (a retrain after corruption): replace it
        shutil.rmtree(target)
    os.rename(tmp, target)
    pointer = model_dir / POINTER_FILE
    tmp_pointer = model_dir / f".{POINTER_FILE}-{os.getpid()}"
    tmp_pointer.write_text(trained.version + "\n", encoding="utf-8")
    os.replace(tmp_pointer, pointer)
    _prune(model_dir, keep=trained.version)
    return target


def _prune(model_dir: Path, keep: str) -> None:
    versions = sorted(
        (p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in versions[KEEP_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class DienstModel:
    """A loaded model: calibrated probabilities over DIENST_CODES."""

    nlp: Language
    meta: dict[str, Any]
    path: Path
    load_seconds: float = 0.0

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def temperature(self) -> float:
        return float(self.meta.get("temperature", 1.0))

    def predict(self, texts: Sequence[str]) -> Any:
        """Calibrated probabilities, shape (len(texts), 10), columns in DIENST_CODES order."""
        return apply_temperature(raw_scores(self.nlp, texts), self.temperature)


def current_version(model_dir: Path) -> str | None:
    try:
        return (model_dir / POINTER_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def load(model_dir: Path, version: str | None = None) -> DienstModel:
    """The current model (or `version`); ModelMissing / ModelCorrupt name the file and the remedy."""
    started = time.perf_counter()
    pointer = model_dir / POINTER_FILE
    fix = "run `gateway train`"
    if version is None:
        if not pointer.exists():
            raise ModelMissing(f"{pointer}: no routing model yet; {fix}")
        version = current_version(model_dir)
        if not version:
            raise ModelCorrupt(f"{pointer}: empty or unreadable model pointer; {fix}")
    path = model_dir / version
    meta_path = path / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files: dict[str, str] = meta["files"]
        if meta.get("format") != MODEL_FORMAT:
            raise ModelCorrupt(
                f"{meta_path}: model format {meta.get('format')}, expected {MODEL_FORMAT}; {fix}"
            )
        if meta.get("labels") != list(DIENST_CODES):
            raise ModelCorrupt(f"{meta_path}: the model's labels are not the ten diensten; {fix}")
    except FileNotFoundError:
        raise ModelCorrupt(f"{meta_path}: missing (model {version} is incomplete); {fix}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelCorrupt(f"{meta_path}: unreadable model metadata ({exc}); {fix}") from exc
    nlp_dir = path / "nlp"
    for rel, digest in files.items():
        try:
            actual = hashlib.sha256((nlp_dir / rel).read_bytes()).hexdigest()
        except OSError:
            raise ModelCorrupt(f"{nlp_dir / rel}: missing model file; {fix}") from None
        if actual != digest:
            raise ModelCorrupt(f"{nlp_dir / rel}: checksum mismatch, the model file is damaged; {fix}")
    import spacy

    register_spacy_functions()
    try:
        nlp = spacy.load(nlp_dir)
        model = DienstModel(nlp=nlp, meta=meta, path=path)
        probe = model.predict(["straatlamp kapot"])
    except Exception as exc:  # whatever spaCy raises on a damaged pipeline: one clear line instead
        raise ModelCorrupt(
            f"{nlp_dir}: cannot load the model ({exc.__class__.__name__}: {exc}); {fix}"
        ) from exc
    if probe.shape != (1, len(DIENST_CODES)) or not np.isfinite(probe).all():
        raise ModelCorrupt(f"{nlp_dir}: the model gives no usable probabilities; {fix}")
    model.load_seconds = time.perf_counter() - started
    return model
