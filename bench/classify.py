"""Classifier benchmark: `gateway classify` on 10,000 texts, the model's size and load time.

The real command in its own process (`python -m gateway classify`), fed 10,000 JSON lines from
the corpus (training and held-out texts, all channels and languages, cycled). Reported: the
end-to-end rate (process start, imports and model load included), the start-up alone (an empty
input), the rate once started, and the CPU time per melding (which other load on the machine
does not distort). Then the model on disk and a cold load in a fresh process. Nothing asserts
a speed. Uses the configured model (GATEWAY_MODEL_DIR, default data/models); trains it first
when there is none.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.intake import ROOT

TEXTS = 10_000


def _input_file(directory: Path) -> Path:
    from gateway.classify.model import CORPUS_DIR

    rows: list[dict[str, Any]] = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    target = directory / "classify-input.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for n in range(TEXTS):
            row = rows[(n * 7919) % len(rows)]  # a stride through all files: every dienst and channel mixed
            out.write(json.dumps({"id": f"bench-{n}", "text": row["text"]}, ensure_ascii=False) + "\n")
    return target


def _run(stdin_path: Path | None, *extra: str) -> tuple[float, float, int]:
    """(wall seconds, child CPU seconds, output lines) of one `gateway classify`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(stdin_path or os.devnull, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "classify", *extra],
            stdin=stdin,
            capture_output=True,
            cwd=ROOT,
            check=False,
        )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"gateway classify failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.count(b"\n")


_LOAD = """
import time
t0 = time.perf_counter()
import spacy, thinc.api
t1 = time.perf_counter()
from pathlib import Path
from gateway.classify import model
t2 = time.perf_counter()
model.load(Path({model_dir!r}))
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


_LETTER = (
    "Beste,\n\nIn de Groeningestraat ter hoogte van nummer 14 ligt er sinds vorige week een "
    "losliggende tegel op het voetpad. Mijn moeder is er gisteren bijna over gestruikeld. Kunnen "
    "jullie dit zo snel mogelijk herstellen?\n\nMet vriendelijke groeten,\nJan Peeters\n"
)


def _rules_per_melding(router: Any, calls: int = 2000) -> float:
    """µs per `RuleRouter.route` on a 300-character letter (the worker's budget: well under 1 ms)."""
    router.route(_LETTER)
    start = time.perf_counter()
    for _ in range(calls):
        router.route(_LETTER)
    return (time.perf_counter() - start) / calls * 1e6


def main(rounds: int = 3, quick: bool = False, **_: Any) -> dict[str, float]:
    from gateway.classify.router import ensure_model, model_size
    from gateway.classify.rules import RuleRouter
    from gateway.config import load_settings

    os.chdir(ROOT)
    settings = load_settings()
    model = ensure_model(settings, RuleRouter.from_file(settings.diensten_file), rules_only_ok=False)
    assert model is not None
    cores = os.cpu_count()
    print(f"\n== classify: `gateway classify` on {TEXTS} texts, model {model.version} ({cores} cores)")
    if quick:
        rounds = 1
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = _input_file(Path(tmp))
        if not quick:
            _run(source)  # warm the page cache and the bytecode
        variants = [
            ("default", "default (--jobs = cores)", ()),
            ("jobs1", "one process (--jobs 1)", ("--jobs", "1")),
        ]
        for key, label, extra in variants[:1] if quick else variants:
            walls, cpus, starts = [], [], []
            for _ in range(max(1, rounds)):
                start_wall, _cpu, _n = _run(None, *extra)
                wall, cpu, lines = _run(source, *extra)
                if lines != TEXTS:
                    raise SystemExit(f"expected {TEXTS} output lines, got {lines}")
                walls.append(wall)
                cpus.append(cpu)
                starts.append(start_wall)
            wall, cpu, start = statistics.median(walls), statistics.median(cpus), statistics.median(starts)
            print(
                f"{label}: {TEXTS / wall:,.0f} meldingen/s end to end ({wall:.2f} s for {TEXTS}, "
                f"start-up {start:.2f} s included); {TEXTS / max(wall - start, 1e-9):,.0f}/s once started; "
                f"CPU {cpu / TEXTS * 1e6:.0f} µs per melding (start-up included)"
            )
            figures[f"classify_{key}_per_s"] = TEXTS / wall
            figures[f"classify_{key}_started_per_s"] = TEXTS / max(wall - start, 1e-9)
            figures[f"classify_{key}_startup_s"] = start
            figures[f"classify_{key}_cpu_us"] = cpu / TEXTS * 1e6
    loads = []
    for _ in range(max(1, rounds)):
        out = subprocess.run(
            [sys.executable, "-c", _LOAD.format(model_dir=str(settings.model_dir))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.split()
        loads.append((float(out[0]), float(out[1])))
    spacy_import = statistics.median(a for a, _ in loads)
    load = statistics.median(b for _, b in loads)
    print(
        f"model on disk: {model_size(model.path) / 1e6:.1f} MB ({model.path}); cold load {load:.3f} s "
        f"in a fresh process, after importing spaCy ({spacy_import:.2f} s)"
    )
    figures["classify_rules_us"] = _rules_per_melding(RuleRouter.from_file(settings.diensten_file))
    print(f"keyword rules alone, in process: {figures['classify_rules_us']:.0f} µs per melding")
    figures["classify_model_mb"] = model_size(model.path) / 1e6
    figures["classify_model_load_s"] = load
    figures["classify_spacy_import_s"] = spacy_import
    return figures
