"""`python -m bench [intake] [--seconds S] [--rounds N] [--database-url URL]`."""

from __future__ import annotations

import argparse

from bench import email, intake, sms, worker

BENCHES = {"intake": intake.main, "worker": worker.main, "email": email.main, "sms": sms.main}
BENCHES["classify"] = __import__("bench.classify", fromlist=["main"]).main  # gateway classify
BENCHES["dedupe"] = __import__("bench.dedupe", fromlist=["main"]).main  # duplicate detection at 1k-100k

parser = argparse.ArgumentParser(prog="python -m bench")
parser.add_argument("which", nargs="*", help=f"benchmarks to run: {', '.join(BENCHES)} (default: all)")
parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per round")
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--concurrency", type=int, default=50)
parser.add_argument("--database-url", default=None, help="intake store (default: a temporary SQLite file)")
args = parser.parse_args()
unknown = [name for name in args.which if name not in BENCHES]
if unknown:
    parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
for name in args.which or list(BENCHES):
    BENCHES[name](
        seconds=args.seconds, concurrency=args.concurrency, rounds=args.rounds, database_url=args.database_url
    )
