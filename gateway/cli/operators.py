"""`gateway operator add|password|disable|enable|list`: the 1777 desk's accounts (README "Desk
workplace").

`add` and `password` read the password from standard input when it is piped (`printf '%s' "$PW" |
gateway operator add an`), so it never shows in a process list or a shell history; at a terminal
they generate one and print it once. Only the argon2 hash is stored. A new password ends the
operator's open sessions; `enable` lets a disabled or locked-out operator in again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from gateway import clock, passwords
from gateway.config import load_settings
from gateway.store import Store
from gateway.store import operators as store_operators
from gateway.store.operators import OperatorError, Role

T = TypeVar("T")


def register(subparsers: Any) -> None:
    o = subparsers.add_parser(
        "operator", help="the 1777 desk's accounts: add, password, disable, enable, list"
    )
    sub = o.add_subparsers(dest="operator_command", required=True)
    add = sub.add_parser("add", help="a new operator or admin (password from stdin, or generated)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    add.set_defaults(func=cmd_add)
    password = sub.add_parser(
        "password", help="a new password (from stdin, or generated); the operator's sessions end"
    )
    password.add_argument("name")
    password.set_defaults(func=cmd_password)
    disable = sub.add_parser("disable", help="an operator can no longer log in (sessions end at once)")
    disable.add_argument("name")
    disable.set_defaults(func=cmd_disable)
    enable = sub.add_parser("enable", help="a disabled or locked-out operator can log in again")
    enable.add_argument("name")
    enable.set_defaults(func=cmd_enable)
    sub.add_parser("list", help="the accounts, their role and state").set_defaults(func=cmd_list)


def _run(args: argparse.Namespace, fn: Callable[..., T], *fn_args: Any) -> T:
    settings = load_settings(args.config)

    async def go() -> T:
        store = Store(settings.database_url, timezone=settings.timezone)
        await store.open()
        try:
            return await store.write(fn, *fn_args)
        finally:
            await store.close()

    return asyncio.run(go())


def _password() -> tuple[str, bool]:
    """(password, generated): from a pipe when there is one, otherwise made here."""
    if sys.stdin is not None and not sys.stdin.isatty():
        given = sys.stdin.read().rstrip("\r\n")
        if given:
            return given, False
    return passwords.generate(), True


def _checked_password() -> tuple[str, bool]:
    password, generated = _password()
    if not generated and len(password) < passwords.MIN_LENGTH:
        raise OperatorError(f"the password must have at least {passwords.MIN_LENGTH} characters")
    return password, generated


def cmd_add(args: argparse.Namespace) -> int:
    try:
        store_operators.check_name(args.name)
        password, generated = _checked_password()
        _run(args, store_operators.add, args.name, Role(args.role), passwords.hash_password(password))
    except OperatorError as exc:
        print(f"gateway operator: {exc}", file=sys.stderr)
        return 1
    print(f"{args.role} {args.name} added")
    if generated:
        print(f"password (shown once, only the hash is kept): {password}")
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    try:
        password, generated = _checked_password()
        _run(args, store_operators.set_password, args.name, passwords.hash_password(password))
    except OperatorError as exc:
        print(f"gateway operator: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: new password; open sessions end at their next request")
    if generated:
        print(f"password (shown once, only the hash is kept): {password}")
    return 0


def _state_change(args: argparse.Namespace, change: Callable[..., None], done: str) -> int:
    try:
        _run(args, change, args.name)
    except OperatorError as exc:
        print(f"gateway operator: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name} {done}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    return _state_change(args, store_operators.disable, "disabled")


def cmd_enable(args: argparse.Namespace) -> int:
    return _state_change(args, store_operators.enable, "enabled")


def cmd_list(args: argparse.Namespace) -> int:
    for op in _run(args, store_operators.all_operators):
        state = "disabled" if op.disabled else "active"
        if op.locked_until is not None and op.locked_until > clock.now() and not op.disabled:
            state = f"locked until {op.locked_until:%Y-%m-%d %H:%M} UTC"
        print(f"{op.name}\t{op.role}\t{state}\tcreated {op.created_at:%Y-%m-%d}")
    return 0
