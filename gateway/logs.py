"""Structured logs (JSON lines) with reporter e-mail and phone masked.

Anything logged through `extra={...}` becomes a field. Fields named like an
e-mail address or phone number are masked wherever they come from, so a
careless log call cannot leak a reporter's contact details.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
# Phone numbers start with +, 00 or 0 (national); references (1777-2026-000123),
# dates and ids do not, so they stay readable.
_PHONE = re.compile(r"(?<![\w+])((?:\+|0)\d[\d ./-]{6,}\d)(?![\w])")
# A melding's id is a UUID: "…-0512-4600-…" inside one looked like a phone number and was masked,
# so the log could not be searched for the id. UUIDs are left whole.
_UUID = re.compile(r"(?<![\w-])([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})(?![\w-])")


def mask_email(value: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def mask_phone(value: str) -> str:
    def hide(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(1))
        return ("+" if m.group(1).startswith("+") else "") + "*" * (len(digits) - 2) + digits[-2:]

    parts = _UUID.split(value)  # odd items are the UUIDs
    return "".join(part if n % 2 else _PHONE.sub(hide, part) for n, part in enumerate(parts))


def mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone(mask_email(value))
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = mask(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(
            f"{k}={mask(v)}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")
        )
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {mask(record.getMessage())}"
        line = f"{line} {extra}" if extra else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "arq.worker", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
