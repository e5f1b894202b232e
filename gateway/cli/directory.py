"""`gateway directory import FILE.csv [--replace]`: load the reporter directory (README "Desk
workplace"). Every bad line is reported with its number and the reason, and the other lines are
imported all the same; the exit status is 1 when a line was refused, 2 when the file could not be
read at all (nothing imported)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.config import load_settings
from gateway.directory import HeaderError, read_csv
from gateway.store import Store
from gateway.store import directory as store_directory
from gateway.store.directory import PersonIn


def register(subparsers: Any) -> None:
    d = subparsers.add_parser("directory", help="the reporter directory the desk looks people up in")
    sub = d.add_subparsers(dest="directory_command", required=True)
    imp = sub.add_parser("import", help="load people from a CSV file (header row: see README)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="empty the directory first (same transaction)")
    imp.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    try:
        people, errors = read_csv(args.file)
    except (OSError, UnicodeDecodeError, HeaderError) as exc:
        print(f"gateway directory: {args.file}: {exc}", file=sys.stderr)
        return 2
    for error in errors:
        print(f"gateway directory: {args.file}: {error}", file=sys.stderr)
    done, total = asyncio.run(_save(args, people))
    replaced = " (directory replaced)" if args.replace else ""
    print(
        f"{len(people)} imported, {len(errors)} refused{replaced}; {total} people in the directory: "
        f"{done.new} new, {done.updated} updated, {done.unchanged} unchanged"
    )
    return 1 if errors else 0


async def _save(args: argparse.Namespace, people: list[PersonIn]) -> tuple[store_directory.Imported, int]:
    settings = load_settings(args.config)
    store = Store(settings.database_url, timezone=settings.timezone)
    await store.open()
    try:
        done = await store.write(store_directory.save, people, replace=args.replace)
        return done, await store.read(store_directory.count)
    finally:
        await store.close()
