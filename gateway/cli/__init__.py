"""The `gateway` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.classify.rules import DienstenConfigError
from gateway.cli import classify as classify_commands
from gateway.cli import directory as directory_command
from gateway.cli import dossier as dossier_command
from gateway.cli import operators as operator_commands
from gateway.cli import retention as retention_command
from gateway.cli.argtypes import port
from gateway.config import ConfigError, Settings, load_settings
from gateway.logs import setup_logging
from gateway.store import StoreError


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    setup_logging(settings.log_level, settings.log_format)
    if settings.uses_dev_secret():
        logging.getLogger("gateway").warning(
            "GATEWAY_CASE_SYSTEM_SECRET is the development default; set a real one in production"
        )
    return settings


def cmd_up(args: argparse.Namespace) -> int:
    from gateway.cli.runner import run

    asyncio.run(run(_settings(args), http=True, worker=True, autostart_redis=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.cli.runner import run

    asyncio.run(run(_settings(args), http=True, worker=False))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.cli.runner import run

    asyncio.run(run(_settings(args), http=False, worker=True))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from gateway.store import Store

    settings = _settings(args)

    async def go() -> set[str]:
        store = Store(settings.database_url)
        await store.open(migrate_schema=True)
        try:
            return await store.schema_revisions()
        finally:
            await store.close()

    print(f"store schema at revision {', '.join(sorted(asyncio.run(go())))}")
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    from gateway.cli.deliveries import list_or_retry, show_attempts

    if args.attempts:
        return asyncio.run(show_attempts(_settings(args), args.attempts, as_json=args.json))
    return asyncio.run(
        list_or_retry(
            _settings(args),
            dead_only=args.dead,
            retry=args.retry,
            references=args.reference or None,
            as_json=args.json,
        )
    )


def cmd_pushes(args: argparse.Namespace) -> int:
    from gateway.cli.pushes import list_or_retry

    return asyncio.run(
        list_or_retry(
            _settings(args),
            dead_only=args.dead,
            retry=args.retry,
            references=args.reference or None,
            as_json=args.json,
        )
    )


def cmd_receiver(args: argparse.Namespace) -> int:
    from gateway.cli.receiver import serve

    settings = load_settings(args.config)
    asyncio.run(serve(settings.case_system_secret, args.path, args.port))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Meldpunt intake gateway")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: $GATEWAY_CONFIG or config/gateway.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "up", help="everything on one machine: HTTP + worker (+ a local Redis if none)"
    ).set_defaults(func=cmd_up)
    sub.add_parser("serve", help="the HTTP server only").set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="an arq worker only (run several to scale out)").set_defaults(
        func=cmd_worker
    )
    sub.add_parser("migrate", help="bring the store schema up to date").set_defaults(func=cmd_migrate)
    d = sub.add_parser(
        "deliveries", help="list deliveries to the case system that are not done; resend dead ones"
    )
    d.add_argument("--dead", action="store_true", help="only deliveries that gave up")
    d.add_argument(
        "--retry", action="store_true", help="resend dead deliveries (all, or those of --reference)"
    )
    d.add_argument(
        "--reference", action="append", help="only this melding's deliveries (repeatable); unknown: exit 1"
    )
    d.add_argument(
        "--attempts",
        metavar="REFERENCE",
        help="every attempt of this melding's deliveries and portal pushes (its reference or id)",
    )
    d.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    d.set_defaults(func=cmd_deliveries)
    p = sub.add_parser(
        "pushes", help="list status pushes to citizen portals that are not done; resend dead ones"
    )
    p.add_argument("--dead", action="store_true", help="only pushes that gave up")
    p.add_argument("--retry", action="store_true", help="resend dead pushes (all, or those of --reference)")
    p.add_argument(
        "--reference", action="append", help="only this melding's pushes (repeatable); unknown: exit 1"
    )
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(func=cmd_pushes)
    r = sub.add_parser("receiver", help="a development webhook receiver that prints what it gets")
    r.add_argument("--port", type=port, default=8099, help="1 to 65535 (default 8099)")
    r.add_argument("--path", default="/case-system")
    r.set_defaults(func=cmd_receiver)
    __import__("gateway.cli.dedupe", fromlist=["register"]).register(sub)  # dedupe, hotspots
    classify_commands.register(sub)  # train, classify, eval
    retention_command.register(sub)
    dossier_command.register(sub)
    operator_commands.register(sub)  # operator add, disable, list
    directory_command.register(sub)  # directory import
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, DienstenConfigError, StoreError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
