"""`gateway retention [--dry-run]`: remove the personal data of meldingen closed for longer than
`retention_days` (what the workers do daily), printing what each batch removed."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gateway.config import load_settings
from gateway.retention import run_retention
from gateway.store import Store
from gateway.store.retention import Anonymised


def register(subparsers: Any) -> None:
    r = subparsers.add_parser(
        "retention",
        help="remove the personal data of meldingen closed for longer than retention_days (also run daily)",
    )
    r.add_argument("--dry-run", action="store_true", help="count what would be removed; change nothing")
    r.set_defaults(func=cmd_retention)


def _line(counts: Anonymised) -> str:
    return (
        ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.as_dict().items() if n) or "nothing"
    )


def cmd_retention(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if settings.retention_days == 0:
        print("retention_days = 0: personal data is kept forever; nothing to do")
        return 0
    verb = "would anonymise" if args.dry_run else "anonymised"

    def progress(what: str, counts: Anonymised) -> None:
        print(f"{verb} {what}: {_line(counts)}", flush=True)

    async def go() -> Anonymised:
        store = Store(
            settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
        )
        await store.open()
        try:
            return await run_retention(store, settings, dry_run=args.dry_run, progress=progress)
        finally:
            await store.close()

    print(
        f"{'dry run: ' if args.dry_run else ''}meldingen closed more than {settings.retention_days} days ago",
        flush=True,
    )
    total = asyncio.run(go())
    print(f"total {'(dry run, nothing changed)' if args.dry_run else ''}: {_line(total)}".replace(" :", ":"))
    return 0
