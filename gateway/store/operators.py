"""The 1777 desk's accounts: operators and admins, their argon2 hashes and the lock-out.

A login reads the `credentials`, verifies the password outside any transaction (argon2 takes tens
of milliseconds, which no write transaction should wait for), then records `failed` or `succeeded`.
After `lockout.attempts` failures in a row the account is locked `lockout.seconds`, doubled for each
further failure (up to `lockout.max_seconds`); while it is locked even the right password is
refused, and the password is not even checked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Row

from gateway.store.schema import operators
from gateway.store.sql import utcnow

# The name is the operator's mark in every history row ("desk:<name>", at most 32 characters).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,26}")


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"


class OperatorError(ValueError):
    """A name that is not allowed, taken, or unknown (the CLI prints it)."""


@dataclass(frozen=True)
class Operator:
    name: str
    role: Role
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    # A digest of the password's hash: a desk session remembers it at login, and ends when it
    # changes (a password reset logs out whoever knew the old one). Never the hash itself.
    password_tag: str = ""


@dataclass(frozen=True)
class Lockout:
    """The back-off settings (desk_lockout_*)."""

    attempts: int
    seconds: float
    max_seconds: float

    def until(self, failures: int, now: datetime) -> datetime | None:
        """When an account with `failures` failures in a row unlocks; None below the limit."""
        if failures < self.attempts:
            return None
        delay = min(self.max_seconds, self.seconds * 2 ** min(failures - self.attempts, 30))
        return now + timedelta(seconds=delay)


@dataclass(frozen=True)
class Credentials:
    """What a login checks, read before the (slow) argon2 verification, outside any transaction."""

    name: str
    password_hash: str
    disabled: bool
    locked_until: datetime | None


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise OperatorError(
            f"name {name!r}: 1 to 27 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def add(conn: Connection, name: str, role: Role, password_hash: str) -> Operator:
    check_name(name)
    if conn.execute(select(operators.c.id).where(operators.c.name == name)).first() is not None:
        raise OperatorError(f"an operator named {name!r} exists already")
    now = utcnow()
    conn.execute(
        operators.insert().values(
            name=name,
            role=role.value,
            password_hash=password_hash,
            disabled=False,
            failed_attempts=0,
            locked_until=None,
            created_at=now,
        )
    )
    return Operator(name, role, False, 0, None, now)


def disable(conn: Connection, name: str) -> None:
    _change(conn, name, disabled=True)


def enable(conn: Connection, name: str) -> None:
    """Back in (a disabled account, or one locked out): the failure count starts again."""
    _change(conn, name, disabled=False, failed_attempts=0, locked_until=None)


def set_password(conn: Connection, name: str, password_hash: str) -> None:
    """A new password (forgotten, or known to someone else): the lock lifts, open sessions end."""
    _change(conn, name, password_hash=password_hash, failed_attempts=0, locked_until=None)


def _change(conn: Connection, name: str, **values: object) -> None:
    done = conn.execute(update(operators).where(operators.c.name == name).values(**values))
    if done.rowcount != 1:
        raise OperatorError(f"no operator named {name!r}")


def password_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def all_operators(conn: Connection) -> list[Operator]:
    return [_operator(row) for row in conn.execute(select(operators).order_by(operators.c.name))]


def get(conn: Connection, name: str) -> Operator | None:
    row = conn.execute(select(operators).where(operators.c.name == name)).first()
    return _operator(row) if row is not None else None


def credentials(conn: Connection, name: str) -> Credentials | None:
    columns = (operators.c.name, operators.c.password_hash, operators.c.disabled, operators.c.locked_until)
    row = conn.execute(select(*columns).where(operators.c.name == name)).first()
    return Credentials(row.name, row.password_hash, bool(row.disabled), row.locked_until) if row else None


def failed(conn: Connection, name: str, lockout: Lockout) -> datetime | None:
    """Count a wrong password; when the account locks now, until when. The count is incremented in
    the UPDATE, so concurrent guesses are each counted."""
    failures = conn.execute(
        update(operators)
        .where(operators.c.name == name)
        .values(failed_attempts=operators.c.failed_attempts + 1)
        .returning(operators.c.failed_attempts)
    ).scalar_one()
    locked_until = lockout.until(failures, utcnow())
    if locked_until is not None:
        conn.execute(update(operators).where(operators.c.name == name).values(locked_until=locked_until))
    return locked_until


def succeeded(conn: Connection, name: str, new_hash: str | None = None) -> Operator | None:
    """A right password: the failure count starts again (and an outdated hash is replaced)."""
    values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
    if new_hash is not None:
        values["password_hash"] = new_hash
    conn.execute(update(operators).where(operators.c.name == name).values(**values))
    return get(conn, name)


def _operator(row: Row[Any]) -> Operator:
    return Operator(
        name=row.name,
        role=Role(row.role),
        disabled=bool(row.disabled),
        failed_attempts=row.failed_attempts,
        locked_until=row.locked_until,
        created_at=row.created_at,
        password_tag=password_tag(row.password_hash),
    )
