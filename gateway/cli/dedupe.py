"""`gateway dedupe` and `gateway hotspots`; the stream itself is gateway.dedupe.stream.

`gateway dedupe` (PRODUCT.md): a chronological stream of JSON lines on stdin, one JSON line
out per line in, in order: `id`, `duplicate_of` (an earlier id or null), `suggestions`
(earlier ids the desk should look at: below the threshold but plausible; empty when linked),
`score` (of the best candidate, linked or not; null without candidates), `reason`, plus `dienst`, `location`
and, when a line raises one, `hotspot`. It starts from an empty in-memory index and touches
no store and no Redis.

Input fields: `id`, `text`, `received_at` (ISO 8601; without offset: the gateway's time
zone) are required; `dienst` (else routed by the rules of `diensten_file`), `subject`, `lat`,
`lon`, `street`, `house_number`, `postcode`, `address`, `channel` are optional. A line that
cannot be read gets `{"id": ..., "error": ...}` and the stream goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import IO, Any
from zoneinfo import ZoneInfo

from gateway import clock
from gateway.cli.argtypes import positive
from gateway.config import load_settings
from gateway.dedupe.finder import load_deduper
from gateway.dedupe.stream import Router, run_stream


def register(subparsers: Any) -> None:
    """Add `dedupe` and `hotspots` to the `gateway` command."""
    d = subparsers.add_parser(
        "dedupe",
        help="find duplicates in a chronological stream of JSON lines (stdin -> stdout), in memory",
    )
    d.add_argument("--explain", action="store_true", help="add kinds, the place found and candidate counts")
    d.add_argument(
        "--rules-only", action="store_true", help="route lines without dienst by the rules alone (no model)"
    )
    d.set_defaults(func=cmd_dedupe)
    h = subparsers.add_parser("hotspots", help="hotspots raised for the desk (from the store)")
    h.add_argument("--days", type=positive, default=60.0, help="hotspots active in the last DAYS days")
    h.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    h.set_defaults(func=cmd_hotspots)


def cmd_dedupe(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the result stream
    deduper = load_deduper(settings)

    def router() -> Router:
        # Built only when a line has no dienst: the worker's router when there is one (rules +
        # model), else the rules alone.
        from gateway.classify.rules import RuleRouter

        if not args.rules_only:
            try:
                from gateway.classify.router import build_router
            except ImportError:
                pass
            else:
                return asyncio.run(build_router(settings))
        return RuleRouter.from_file(settings.diensten_file)

    out: IO[str] = sys.stdout
    for result in run_stream(sys.stdin, deduper, router, ZoneInfo(settings.timezone), args.explain):
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 0


# -- gateway hotspots ---------------------------------------------------------------------------------


def cmd_hotspots(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from gateway.store import Store, duplicates

    settings = load_settings(args.config)

    async def go() -> list[dict[str, Any]]:
        store = Store(settings.database_url)
        await store.open(migrate_schema=False)
        try:
            return await store.read(duplicates.list_hotspots, since=clock.now() - timedelta(days=args.days))
        finally:
            await store.close()

    rows = asyncio.run(go())
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False, default=str))
        else:
            print(
                f"{row['last_at']:%Y-%m-%d}  {row['dienst']:<14} {row['count']:>3} problems within "
                f"{row['radius_m']:.0f} m of {row['lat']:.5f},{row['lon']:.5f}  "
                f"{', '.join(row['references'][:6])}{' ...' if len(row['references']) > 6 else ''}"
            )
    if not args.json:
        print(f"{len(rows)} hotspot{'s' if len(rows) != 1 else ''} in the last {args.days:g} days")
    return 0
