"""Operators' passwords (the desk workplace): argon2id hashes by argon2-cffi, never the password.

argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, 3 passes); a hash made with
older parameters is upgraded at the next successful login (`needs_rehash`).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 12  # a chosen password; a generated one is longer (token_urlsafe(15): 20 characters)
# Verified against when a name is unknown, so that the answer takes as long as for a known one.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(15))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown operator (None) costs one verification all the same."""
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def generate() -> str:
    """A password for an operator who did not choose one (printed once by `gateway operator add`)."""
    return secrets.token_urlsafe(15)
