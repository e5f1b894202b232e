"""The one input sanitation step: every text a stranger sends is cleaned the same way, on every
channel, before it is validated and again (as a guarantee) where it is written to the store.

Cleaning, not refusing: an SMS or a mail cannot be answered "422", and a photo of a pothole should
not be lost over an invisible character. So:
- NUL (U+0000) and the other C0 controls are dropped, except tab, newline and carriage return
  (PostgreSQL refuses NUL in text and JSON; the others are never meant and break logs and mail);
- a lone UTF-16 surrogate (valid in JSON's `\\ud800`, not encodable as UTF-8: no backend can store
  it) becomes U+FFFD, the replacement character.
A required text that is empty once cleaned is refused as empty (422 on the API), like any other.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without C0 controls (but \\t \\n \\r), its lone surrogates replaced by U+FFFD."""
    if value.isprintable():
        # No control (Cc) and no surrogate (Cs) in it: nothing to change. One C loop instead of
        # the regex searches, for the texts of every request and every column intake writes.
        return value
    if _CONTROLS.search(value):
        value = _CONTROLS.sub("", value)
    if not value.isascii() and _SURROGATE.search(value):
        # A high and a low surrogate side by side are one character: keep it, replace the rest.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def clean(value: Any) -> Any:
    """`clean_text` on every string in a parsed JSON value (object keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def has_controls(value: str) -> bool:
    """Whether a key (a path parameter, an id) holds anything `clean_text` would change."""
    return bool(_CONTROLS.search(value)) or "\x7f" in value or bool(_SURROGATE.search(value))
