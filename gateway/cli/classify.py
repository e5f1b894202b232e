"""`gateway train`, `gateway classify`, `gateway eval`.

Heavy imports (spaCy, matplotlib) happen inside the commands: other subcommands start fast.
`classify` touches neither Redis nor a database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import logging
import multiprocessing
import os
import select
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from gateway.cli.argtypes import probability, whole
from gateway.config import Settings, load_settings
from gateway.logs import setup_logging
from gateway.store import desk as desk_store

log = logging.getLogger("gateway.classify")


def register(sub: Any) -> None:
    """Add the subcommands to the `gateway` parser's subparsers."""
    t = sub.add_parser("train", help="train the routing model on the corpus and the desk's decisions")
    t.add_argument("--architecture", default="charbow", help="charbow (default), bow or ensemble")
    t.add_argument("--no-store", action="store_true", help="the corpus alone, without the desk's decisions")
    t.add_argument("--force", action="store_true", help="train even when the current model is this version")
    t.add_argument(
        "--processes",
        type=whole(0),
        help="fit the folds and the model in this many processes at once (default: model_train_processes)",
    )
    t.set_defaults(func=cmd_train)

    c = sub.add_parser(
        "classify",
        help="route JSON lines from stdin ({id, text, subject?}); one JSON line out per line in",
    )
    c.add_argument(
        "--threshold",
        type=probability,
        default=None,
        help="triage threshold, 0 to 1 (default: triage_threshold)",
    )
    c.add_argument("--batch-size", type=whole(1), default=512, help="lines per model batch")
    c.add_argument(
        "--jobs",
        type=whole(1),
        default=min(4, os.cpu_count() or 1),
        help="processes for inputs of more than one batch (default: the cores, at most 4)",
    )
    c.set_defaults(func=cmd_classify)

    e = sub.add_parser(
        "eval", help="per-dienst precision/recall/F1, reliability and confusion on a labelled file"
    )
    e.add_argument(
        "file",
        nargs="*",
        type=Path,
        help="JSON lines with text and dienst, optional subject/channel/lang "
        "(default: the held-out split, the probe sets and the calibration dev set; "
        "the other dev sets are training data)",
    )
    e.add_argument(
        "--png",
        type=Path,
        default=None,
        help="confusion matrix image (default: next to the model; with several files, one each there)",
    )
    e.add_argument(
        "--threshold",
        type=probability,
        default=None,
        help="triage threshold, 0 to 1 (default: triage_threshold)",
    )
    e.add_argument(
        "--compare",
        action="store_true",
        help="also train bow, ensemble and charbow on the corpus and compare them",
    )
    e.set_defaults(func=cmd_eval)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    setup_logging(settings.log_level, settings.log_format)
    return settings


# --------------------------------------------------------------------------- train


async def _desk_examples(settings: Settings) -> list[Any]:
    from gateway.classify.model import LabelledText
    from gateway.store import Store

    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []  # no store yet, so no desk decisions
    store = Store(url)
    await store.open(migrate_schema=False)  # reading only: never change a schema from here
    try:
        found = await store.read(desk_store.decisions)
    finally:
        await store.close()
    return [
        LabelledText(text=text, dienst=dienst, subject=subject, source="desk")
        for subject, text, dienst in found
    ]


def cmd_train(args: argparse.Namespace) -> int:
    from gateway.classify import model as m
    from gateway.classify.router import model_size
    from gateway.classify.rules import RuleRouter
    from gateway.store import StoreError

    settings = _settings(args)
    rules = RuleRouter.from_file(settings.diensten_file)
    try:
        desk = [] if args.no_store else asyncio.run(_desk_examples(settings))
    except StoreError as exc:
        print(f"gateway: {exc} (--no-store trains on the corpus alone)", file=sys.stderr)
        return 2
    rows = m.load_corpus() + desk
    config = m.TrainConfig(architecture=args.architecture)
    version = m.version_of(rows, config)
    if not args.force and m.current_version(settings.model_dir) == version:
        try:
            m.load(settings.model_dir)
            print(f"model {version} is up to date (same examples and configuration); --force trains again")
            return 0
        except m.ModelError as exc:
            print(f"gateway: {exc}; training it again", file=sys.stderr)
    dev = len(m.load_dev_training()) if config.train_on_dev else 0
    print(
        f"training {version}: {len(rows) - len(desk)} corpus examples + {len(desk)} desk decisions "
        f"+ {dev} dev lines (all dev sets but {m.CALIBRATION_FILE.name}, kept for the temperature)",
        file=sys.stderr,
    )
    processes = settings.model_train_processes if args.processes is None else args.processes
    trained = m.train(rows, config, rules, progress=True, processes=max(processes, 0))
    path = m.save(trained, settings.model_dir)
    meta = trained.meta
    cv = meta["cv"]
    print(f"model {version} written to {path} ({model_size(path) / 1e6:.1f} MB), now current")
    print(f"training took {meta['training_seconds']:.0f} s")
    if cv:
        print(
            f"{cv['folds']}-fold cross-validation on the training examples: macro-F1 model "
            f"{cv['model_macro_f1']:.4f}, rules + model {cv['hybrid_macro_f1']:.4f}"
        )
    print(
        f"calibration: temperature {meta['temperature']} (the softest of {meta.get('temperature_dev')} on "
        f"{meta.get('temperature_dev_rows', 0)} dev meldingen never trained on, "
        f"{meta.get('temperature_folds')} on the folds, {meta.get('temperature_dev_folds')} on the "
        f"dev lines' folds and {meta.get('temperature_fresh_dev')} on the newest dev set, unseen), "
        f"rule decisions right "
        f"{meta['rules_agree_precision']:.3f} when the model agrees, "
        f"{meta['rules_disagree_precision']:.3f} when not"
    )
    return 0


# --------------------------------------------------------------------------- classify


def _parse(line: bytes) -> tuple[Any, str, str | None] | dict[str, Any]:
    """(id, text, subject) or the error line to print for it."""
    try:
        obj = json.loads(line.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"not JSON: {exc}"}
    if not isinstance(obj, dict):
        return {"id": None, "error": "expected a JSON object with id and text"}
    ident = obj.get("id")
    if ident is None:
        return {"id": None, "error": "missing id"}
    text, subject = obj.get("text"), obj.get("subject")
    if not isinstance(text, str):
        return {"id": ident, "error": "text must be a string"}
    if subject is not None and not isinstance(subject, str):
        return {"id": ident, "error": "subject must be a string or null"}
    return ident, text, subject


def _chunks(stream: IO[bytes], size: int) -> Iterator[list[bytes]]:
    """Lines in chunks of `size`; a partial chunk as soon as the input pauses (a live pipe gets
    its answers without waiting for more lines)."""
    chunk: list[bytes] = []
    while True:
        if chunk and not _readable(stream):
            yield chunk
            chunk = []
        line = stream.readline()
        if not line:
            break
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _readable(stream: IO[bytes]) -> bool:
    try:
        return bool(select.select([stream], [], [], 0)[0])
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (tests): keep reading
        return True


def _render(router: Any, chunk: list[bytes]) -> str:
    """One JSON line per input line, in order; a bad line gets an `error` line."""
    parsed = [_parse(line) if line.strip() else {"id": None, "error": "empty line"} for line in chunk]
    valid = [p for p in parsed if isinstance(p, tuple)]
    decisions = iter(router.decide_many([(text, subject) for _, text, subject in valid]))
    out = []
    for p in parsed:
        if isinstance(p, dict):
            out.append(json.dumps(p, ensure_ascii=False))
            continue
        d = next(decisions)
        line = {
            "id": p[0],
            "dienst": d.best,
            "confidence": round(d.confidence, 4),
            "alternatives": [[code, prob] for code, prob in d.alternatives],
            "triage": d.triage,
            "routed_by": d.rule,
        }
        out.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(out) + "\n"


_FORKED_ROUTER: Any = None  # the router as the forked pool processes inherit it


def _render_forked(chunk: list[bytes]) -> str:
    return _render(_FORKED_ROUTER, chunk)


def classify_stream(
    router: Any, source: IO[bytes], sink: IO[str], batch_size: int = 512, jobs: int = 1
) -> int:
    """Route every line of `source` to `sink`, in order. Returns the number of lines read.

    With `jobs` > 1 and more than one batch of input, batches are routed by that many forked
    processes (they inherit the loaded model), at most 4 batches per process ahead of the output.
    """
    global _FORKED_ROUTER
    chunks = _chunks(source, max(1, batch_size))
    first = next(chunks, None)
    if first is None:
        return 0
    second = next(chunks, None)
    count = 0
    if second is None or jobs <= 1:
        for chunk in itertools.chain([first], [second] if second else [], chunks):
            sink.write(_render(router, chunk))
            sink.flush()
            count += len(chunk)
        return count
    _FORKED_ROUTER = router
    pending: deque[Any] = deque()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for chunk in itertools.chain([first, second], chunks):
            pending.append(pool.apply_async(_render_forked, (chunk,)))
            count += len(chunk)
            while pending and (len(pending) >= 4 * jobs or pending[0].ready()):
                sink.write(pending.popleft().get())
            sink.flush()
        while pending:
            sink.write(pending.popleft().get())
        sink.flush()
    return count


def cmd_classify(args: argparse.Namespace) -> int:
    from gateway.classify.model import ModelError
    from gateway.classify.router import HybridRouter, ensure_model
    from gateway.classify.rules import RuleRouter

    settings = _settings(args)
    rules = RuleRouter.from_file(settings.diensten_file)
    try:
        model = ensure_model(settings, rules, rules_only_ok=False)
    except ModelError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    threshold = settings.triage_threshold if args.threshold is None else args.threshold
    router = HybridRouter(rules, model, threshold)
    try:
        classify_stream(router, sys.stdin.buffer, sys.stdout, args.batch_size, args.jobs)
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        sys.stderr.close()
        return 0
    return _end_now_if_command(0)


def _end_now_if_command(code: int) -> int:
    """The interpreter's teardown of spaCy, thinc and numpy takes about 0.3 s, a sixth of routing
    10,000 texts. When this process is the `gateway` command itself, the output is flushed and the
    process ends at once; called from Python (tests), this returns as usual."""
    entry = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    if entry.endswith((os.path.join("gateway", "__main__.py"), os.sep + "gateway")):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    return code


# --------------------------------------------------------------------------- eval


def _png_for(asked: Path | None, model_path: Path, file: Path) -> Path:
    return (asked.parent if asked else model_path) / f"eval-{file.stem}.png"


def cmd_eval(args: argparse.Namespace) -> int:
    from gateway.classify import evaluate
    from gateway.classify import model as m
    from gateway.classify.router import HybridRouter, ensure_model
    from gateway.classify.rules import RuleRouter

    settings = _settings(args)
    rules = RuleRouter.from_file(settings.diensten_file)
    files = args.file or m.evaluation_files()
    try:
        sets = {file: m.load_jsonl(file) for file in files}
        model = ensure_model(settings, rules, rules_only_ok=False)
    except m.ModelError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    assert model is not None
    threshold = settings.triage_threshold if args.threshold is None else args.threshold
    router = HybridRouter(rules, model, threshold)
    reports = []
    for file, rows in sets.items():
        report = evaluate.run(router, rows, file)
        reports.append(report)
        print("\n".join(report.lines()))
        png = args.png if args.png and len(sets) == 1 else _png_for(args.png, model.path, file)
        evaluate.save_confusion_png(report, png)
        print(f"confusion matrix saved to {png}\n")
    if len(reports) > 1:
        print("\n".join(evaluate.summary_lines(reports)))
    rows = next(iter(sets.values()))  # architectures are compared on the first file only
    if args.compare:
        print("\ncomparing architectures (trained on the corpus, no calibration folds):", flush=True)
        started = time.perf_counter()
        results = evaluate.compare_architectures(rules, rows)
        print(f"{'architecture':<14}{'model F1':>10}{'+ rules':>10}{'train s':>10}{'docs/s':>10}")
        for arch, f1, hybrid, train_s, speed in results:
            print(f"{arch:<14}{f1:>10.4f}{hybrid:>10.4f}{train_s:>10.1f}{speed:>10.0f}")
        print(f"({time.perf_counter() - started:.0f} s)")
    return 0
