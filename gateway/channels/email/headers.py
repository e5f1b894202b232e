"""The headers of a mail: subject, sender, date and message ids, decoded and checked.

Each function appends what it could not read to `defects`, and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from gateway.channels.email.automated import decode_header_text, first_header, header_values


@dataclass(frozen=True)
class Sender:
    address: str | None
    name: str | None


def subject(msg: Message, defects: list[str]) -> str:
    value = first_header(msg, "subject")
    return " ".join(decode_header_text(value, defects).split()) if value else ""


def sender(msg: Message, defects: list[str]) -> Sender:
    name: str | None = None
    for header in ("from", "sender", "reply-to"):
        for value in header_values(msg, header):
            found = address(value, defects)
            name = name or found.name
            if found.address:
                return Sender(found.address, found.name or name)
    return Sender(None, name)


_ADDR_SPEC = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+")


def address(value: str, defects: list[str]) -> Sender:
    """The first address in a header value, with its decoded display name."""
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    for display, addr in pairs:
        if _ADDR_SPEC.fullmatch(addr.strip()):
            name = " ".join(decode_header_text(display, defects).split()).strip("\"' ") or None
            return Sender(addr.strip().lower(), name)
    # Unparseable by the RFC grammar (unquoted commas, "Name [mailto:a@b]"): take what looks like one.
    match = _ADDR_SPEC.search(value)
    if match:
        return Sender(match.group(0).lower(), display_name(value, match.group(0), defects))
    name = " ".join(decode_header_text(value, defects).split()).strip("\"' <>") or None
    return Sender(None, name)


def display_name(value: str, addr: str, defects: list[str]) -> str | None:
    rest = value.replace(addr, " ").replace("mailto:", " ")
    rest = re.sub(r"[<>\[\]()\"]", " ", decode_header_text(rest, defects))
    return " ".join(rest.split()) or None


def date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unreadable Date: {value[:60]}")
        return None
    if not 1970 <= parsed.year < 2100:
        defects.append(f"implausible Date: {value[:60]}")
        return None
    # "-0000" means "zone unknown": UTC is the honest reading of the wall-clock value.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


MAX_MESSAGE_ID = 250
_MSG_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(values: Iterable[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        ids = _MSG_ID.findall(value)
        if not ids:
            ids = [v for v in value.replace(",", " ").split() if "@" in v]  # ids without brackets
        # Real ids are well under 250 characters; a longer one would not fit the key's index: as none.
        found.extend(i for i in ids if len(i) <= MAX_MESSAGE_ID)
    return list(dict.fromkeys(found))


def message_id(value: str | None) -> str | None:
    ids = message_ids([value]) if value else []
    return ids[0] if ids else None
