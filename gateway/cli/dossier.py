"""`gateway dossier REFERENCE [--out FILE.pdf]`: everything about one melding in one PDF, for the
ombudsman. Reads the store only (no Redis); the summary line goes to stderr."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway import clock
from gateway.config import load_settings
from gateway.store import Store
from gateway.store.dossier import Dossier, gather


def register(subparsers: Any) -> None:
    d = subparsers.add_parser(
        "dossier", help="one PDF with everything about a melding (history, messages, deliveries, ...)"
    )
    d.add_argument("reference", help="the melding's reference (1777-2026-000123) or its id")
    d.add_argument("--out", type=Path, default=None, help="the PDF to write (default: <reference>.pdf here)")
    d.set_defaults(func=cmd_dossier)


def _unwritable(out: Path) -> str | None:
    """Why the PDF cannot be written there, known before the store is read and the PDF made."""
    if out.is_dir():
        return "it is a directory"
    if not out.parent.is_dir():
        return f"there is no directory {str(out.parent)!r}"
    return None


def _refuse(out: Path, why: str) -> int:
    print(f"gateway dossier: cannot write {str(out)!r}: {why}; choose another --out", file=sys.stderr)
    return 1


def cmd_dossier(args: argparse.Namespace) -> int:
    if args.out is not None and (why := _unwritable(args.out)):
        return _refuse(args.out, why)
    settings = load_settings(args.config)

    async def read() -> Dossier | None:
        store = Store(
            settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
        )
        await store.open(migrate_schema=False)  # a read-only command never changes the schema
        try:
            return await store.read(gather, args.reference)
        finally:
            await store.close()

    from gateway.dossier import render_pdf  # Pillow and WeasyPrint only for this command

    dossier = asyncio.run(read())
    if dossier is None:
        print(f"gateway dossier: no melding with reference or id {args.reference!r}", file=sys.stderr)
        return 1
    rendered = render_pdf(
        dossier,
        attachments_dir=settings.attachments_dir,
        timezone=settings.timezone,
        generated_at=clock.now(),
    )
    out = args.out or Path(f"{dossier.melding.reference}.pdf")
    try:
        out.write_bytes(rendered.pdf)
    except OSError as exc:  # no permission, a full disk: said in a line, not a traceback
        return _refuse(out, exc.strerror or str(exc))
    print(
        f"dossier {dossier.melding.reference}: {rendered.pages} pages, {len(rendered.pdf)} bytes, {out}",
        file=sys.stderr,
    )
    return 0
