"""The gateway served on a real port for schemathesis (tests/test_openapi.py).

schemathesis sends its requests with `requests`, which blocks: the app therefore runs in an event
loop of its own, in a thread, as `gateway serve` would run it (aiohttp's AppRunner on a free port),
with every channel configured so that no endpoint answers 503 for a missing setting.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.signing import sign
from tests.support.data import PNG, ROOT
from tests.support.http import READ_TOKEN, SECRET, free_port
from tests.support.phone import PHONE_SECRET
from tests.support.sms import TOKEN

PUBLIC_URL = "https://meldpunt.example"
OPEN311_KEY = "fuzz-open311-key"


def fuzz_settings(tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        diensten_file=ROOT / "config" / "diensten.toml",
        templates_dir=ROOT / "config" / "templates",
        dedupe_file=ROOT / "config" / "dedupe.toml",
        street_register_file=ROOT / "config" / "streets.csv",
        case_system_secret=SECRET,
        api_read_token=READ_TOKEN,
        phone_secret=PHONE_SECRET,
        twilio_auth_token=TOKEN,
        open311_api_keys=[OPEN311_KEY],
        public_url=PUBLIC_URL,
        queue_name="gateway:fuzz-queue",
        max_body_bytes=64 * 1024,
        max_attachment_bytes=16 * 1024,
        http_body_timeout=5.0,
        log_format="text",
        model_dir=tmp_path / "models",
        model_autotrain=False,
    )


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The app listening on 127.0.0.1 in a thread of its own; yields its base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="gateway-under-fuzz", daemon=True)
    thread.start()
    runner = web.AppRunner(create_app(settings))
    port = free_port()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


# -- signing: the signed endpoints get valid signatures on every other request ---------------------

GATEWAY_SIGNED = {
    "/channels/phone/calls": PHONE_SECRET,
    "/api/v1/meldingen/{reference}/status": SECRET,
    "/api/v1/meldingen/{id}/dienst": SECRET,
    "/api/v1/meldingen/{id}/national-register-number": SECRET,
}
READ_TOKEN_PATHS = {"/api/v1/meldingen", "/api/v1/meldingen/{id}"}  # GETs with Authorization: Bearer
TWILIO_PREFIX = "/channels/twilio/"


def signed(prepared: requests.PreparedRequest, template: str) -> requests.PreparedRequest:
    """The request with the signature its endpoint checks, computed over what is really sent."""
    body = prepared.body or b""
    raw = body.encode() if isinstance(body, str) else body
    if template in READ_TOKEN_PATHS and prepared.method == "GET":
        prepared.headers["Authorization"] = f"Bearer {READ_TOKEN}"
    elif template in GATEWAY_SIGNED:
        prepared.headers.update(sign(GATEWAY_SIGNED[template], raw))
    elif template.startswith(TWILIO_PREFIX):
        url = urlsplit(prepared.url or "")
        path_qs = url.path + (f"?{url.query}" if url.query else "")
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        validator = RequestValidator(TOKEN)
        prepared.headers["X-Twilio-Signature"] = validator.compute_signature(PUBLIC_URL + path_qs, form)
    return prepared


@dataclass(frozen=True)
class Known:
    """A melding stored before the fuzz: requests aimed at it reach past "not found"."""

    id: str
    reference: str
    token: str

    @classmethod
    def make(cls, base: str) -> Known:
        body = {"text": "Losliggende tegel voor de fuzz", "location": {"street": "Budastraat"}}
        answer = requests.post(f"{base}/api/v1/meldingen", json=body, timeout=30).json()
        return cls(answer["id"], answer["reference"], answer["tracking_url"].rsplit("/", 1)[1])


def aim(case: Any, known: Known, n: int) -> bool:
    """Point every third request at the known melding and give every other one the credentials
    its endpoint asks (Open311's api_key here, signatures in `signed`); True when it is signed."""
    if n % 3 == 0 and isinstance(case.path_parameters, dict):
        values = {"id": known.id, "reference": known.reference, "token": known.token}
        for name in set(case.path_parameters) & set(values):
            case.path_parameters[name] = values[name]
    sign = n % 2 == 0
    if sign and isinstance(case.body, dict):
        if case.media_type == "multipart/form-data":
            case.body["photo"] = PNG  # a photo that passes the content checks, to be stored
        elif case.operation.path == "/open311/v2/requests.{fmt}":
            case.body.update(api_key=OPEN311_KEY, lat="50.8278", long="3.2669")  # the Grote Markt
        elif case.operation.path == "/channels/phone/calls" and "ended_at" in case.body:
            # A call of just now: the record's dates must be plausible, which no schema says.
            now = datetime.now(UTC)
            case.body.update(started_at=(now - timedelta(minutes=3)).isoformat(), ended_at=now.isoformat())
    return sign


# -- what every answer must be ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.content_type}: {self.body[:300]!r}"


def problem(answer: Answered) -> str | None:
    """Why this answer is wrong, or None: no 5xx, and every refusal in its API's error format."""
    if answer.status >= 500:
        return "a server error"
    if answer.status < 400:
        return None
    if answer.path.startswith("/open311/v2/"):
        return _open311_problem(answer)
    try:
        error = json.loads(answer.body)["error"]
    except (ValueError, KeyError, TypeError):
        return "a refusal without the JSON error body"
    if answer.content_type != "application/json":
        return "a refusal that is not application/json"
    if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        return "an error body without code and message"
    return None


def _open311_problem(answer: Answered) -> str | None:
    if answer.path.endswith(".xml"):
        if b"<errors>" not in answer.body:
            return "an Open311 XML refusal without <errors>"
        return None
    try:
        errors = json.loads(answer.body)
    except ValueError:
        return "an Open311 refusal that is not JSON"
    if not (isinstance(errors, list) and errors and all({"code", "description"} <= set(e) for e in errors)):
        return "an Open311 refusal not in the spec's error format"
    return None


def half_stored(database: Path, attachments: Path) -> list[str]:
    """What a complete intake never leaves: a melding without its first history entry, an
    attachment recorded as stored whose file is not on disk, or a file no melding has."""
    with sqlite3.connect(database) as db:
        orphans = db.execute(
            "SELECT id FROM meldingen WHERE id NOT IN (SELECT melding_id FROM status_history)"
        ).fetchall()
        stored = db.execute(
            "SELECT melding_id, storage_path FROM attachments WHERE state = 'stored'"
        ).fetchall()
    found = [f"melding {mid} has no status history" for (mid,) in orphans]
    found += [
        f"melding {mid}: attachment {path!r} is recorded but not on disk"
        for mid, path in stored
        if not path or not (attachments / path).is_file()
    ]
    kept = {path for _, path in stored}
    files = [p for p in attachments.rglob("*") if p.is_file()] if attachments.exists() else []
    found += [f"file {p} belongs to no melding" for p in files if str(p.relative_to(attachments)) not in kept]
    return found


def count(database: Path, table: str) -> Any:
    with sqlite3.connect(database) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
