"""`python -m bench [NAME ...] [--quick] [--output PATH] [--seconds S] [--rounds N] ...`.

Runs the benchmarks (all of them without a name), each module's `main(**options)` returning a
flat dict of its figures, and writes them with bench/report.py: BENCHMARKS.md at the repository
root after a full run of all of them, or `--output PATH`. `--quick` shrinks every benchmark (the
whole run under two minutes once the routing model exists), writes nothing unless `--output` is
given, and prints one JSON object with every figure, "machine" and "date" as its last line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.intake import ROOT
from gateway import clock

# In the order they run: classify before desk and memory, whose worker needs the model it ensures.
BENCHES = ("intake", "worker", "email", "sms", "classify", "dedupe", "desk", "memory", "addresses")
DEFAULT_OUTPUT = ROOT / "BENCHMARKS.md"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput, latency and memory of the gateway, each beside a baseline of the same run.",
    )
    names = ", ".join(BENCHES)
    p.add_argument("which", nargs="*", metavar="NAME", help=f"benchmarks: {names} (default: all)")
    p.add_argument("--quick", action="store_true", help="short rounds and sizes; last line: one JSON object")
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the report here (default: BENCHMARKS.md after a full run of all; none with --quick)",
    )
    p.add_argument("--seconds", type=float, default=None, help="measured seconds per round (default 8)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per load benchmark (default 3)")
    p.add_argument("--concurrency", type=int, default=None, help="intake/SMS connections (default 50)")
    p.add_argument("--database-url", default=None, help="the store (default: a temporary SQLite file)")
    return p


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    unknown = [name for name in args.which if name not in BENCHES]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    if args.seconds is not None and args.seconds <= 0:
        p.error("--seconds must be above 0")
    if args.rounds is not None and args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def output_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: --output, else BENCHMARKS.md only after a full, not quick, run."""
    if args.output is not None:
        return Path(args.output)
    if args.quick or (args.which and set(args.which) != set(BENCHES)):
        return None
    return DEFAULT_OUTPUT


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The options given; a benchmark's own defaults stand for the others."""
    given = {
        "seconds": args.seconds,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "database_url": args.database_url,
    }
    return {"quick": args.quick, **{k: v for k, v in given.items() if v is not None}}


def run(names: Sequence[str], opts: dict[str, Any]) -> report.BenchRun:
    collected = report.BenchRun()
    for name in names:
        print(f"\n== {name}", flush=True)
        started = time.perf_counter()
        try:
            figures = importlib.import_module(f"bench.{name}").main(**opts)
            numbers = {k: v for k, v in (figures or {}).items() if isinstance(v, int | float)}  # None: {}
            collected.results[name] = {k: float(v) for k, v in numbers.items()}
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            collected.failures[name] = f"{type(exc).__name__}: {exc}"
        collected.seconds[name] = time.perf_counter() - started
        print(f"== {name}: {collected.seconds[name]:.0f} s", flush=True)  # what --quick spends where
    return collected


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    names = [n for n in BENCHES if n in args.which] if args.which else list(BENCHES)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]  # other work on the machine distorts rates: say how much there was
    collected = run(names, options(args))
    total = time.perf_counter() - started
    date = clock.now().strftime("%Y-%m-%d %H:%M UTC")
    machine = report.machine_info()
    machine["load average (1 min) before / after"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    target = output_path(args)
    if target is not None:
        info = report.RunInfo(machine, date, report.git_commit(), command)
        target.write_text(report.render(collected, info), encoding="utf-8")
        print(f"\nwrote {target}", flush=True)
    print(f"\n{len(names)} benchmark(s) in {total:.0f} s", flush=True)
    for name, error in collected.failures.items():
        print(f"{name} failed: {error}", file=sys.stderr, flush=True)
    if args.quick:
        print(report.json_line(collected.results, report.machine_summary(machine), date), flush=True)
    return 1 if collected.failures else 0


if __name__ == "__main__":
    sys.exit(main())
