"""Call records from the telephony platform: `POST /channels/phone/calls`.

One signed JSON record per handled call (GATEWAY_PHONE_SECRET, see PRODUCT.md), validated
by `CallRecord`; `phone_call.schema.json` beside this file is its published JSON Schema
and `phone_call.openapi.json` the endpoint's OpenAPI description (`python -m
gateway.channels.phone.calls` rewrites both; a test keeps them equal to the code).

Outcomes:
- `register` / `forward`: a melding like any other (text = agent notes + transcription); the
  worker classifies it, unless the IVR digits hint at a dienst (config/ivr.toml), which it keeps.
- `answered` (an info question answered at once by the 1777 desk): kept for statistics, never
  sent to a case system. It is stored, given dienst `info`, status Beantwoord and stage
  `answered` in ONE transaction and never enqueued: the worker only routes stage `received`
  and the sweep only picks up stage `received`, so no `melding.created` can ever be made for it
  (no window in which a fast worker could route it first). The Beantwoord entry has source
  `intake`: the caller heard the answer on the phone, so the notification sweep leaves it alone.

The call id is the idempotency key (`external_id` on channel `phone`): a replayed record answers
202 with the same reference and makes no second melding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gateway import clock
from gateway.appkeys import INTAKE, METRICS, SETTINGS, STORE
from gateway.config import Settings, load_toml_model
from gateway.handling import signed_body
from gateway.intake import IntakeRejected, invalid, json_object
from gateway.melding import (
    DIENST_CODES,
    Channel,
    CleanInput,
    Location,
    MeldingDraft,
    Reporter,
    RoutingDecision,
    Stage,
    Status,
    StatusUpdate,
)
from gateway.phonenumber import e164
from gateway.signing import MAX_SKEW_SECONDS
from gateway.store import Store, StoredIntake, history
from gateway.store.meldingen import IntakeItem, intake_batch, set_routing

log = logging.getLogger(__name__)

SCHEMA_FILE = Path(__file__).with_name("phone_call.schema.json")
OPENAPI_FILE = Path(__file__).with_name("phone_call.openapi.json")
ANSWERED_BY = "channel:phone:answered"
EARLIEST_CALL = datetime(2000, 1, 1, tzinfo=UTC)  # no call record is older than the gateway
_EMAIL_OK = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CallReporter(CleanInput):
    """Who called, as far as the agent noted it (the number comes from `caller_number`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)

    @field_validator("email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        if v and not _EMAIL_OK.match(v):
            raise ValueError("not an e-mail address")
        return v or None


class CallRecord(CleanInput):
    """One handled call. Unknown fields are refused: a renamed field must not silently drop data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="CallRecord")
    call_id: str = Field(min_length=1, max_length=200, description="the platform's call id (idempotency)")
    caller_number: str | None = Field(
        default=None, max_length=40, description="as the platform saw it; null for a hidden number"
    )
    called_number: str = Field(min_length=1, max_length=40)
    started_at: AwareDatetime
    ended_at: AwareDatetime
    ivr_choice: str | None = Field(
        default=None, pattern=r"^[0-9*#]{1,16}$", description="menu digits pressed, e.g. '2' or '21'"
    )
    agent_id: str = Field(min_length=1, max_length=100)
    agent_notes: str = Field(default="", max_length=20_000)
    outcome: Literal["answered", "register", "forward"] = Field(
        description="answered: answered at once by the desk; register/forward: a melding for a dienst"
    )
    transcription: str | None = Field(default=None, max_length=100_000)
    recording_url: AnyHttpUrl | None = None
    reporter: CallReporter = Field(default_factory=CallReporter)
    location: Location = Field(default_factory=Location)

    @field_validator("started_at", "ended_at")
    @classmethod
    def _plausible(cls, v: datetime) -> datetime:
        # The call's end is the melding's received_at and gives its reference its year: a date from
        # before the gateway or from the future is a platform bug, refused rather than stored.
        if v < EARLIEST_CALL:
            raise ValueError(f"must not be before {EARLIEST_CALL.date().isoformat()}")
        if v > clock.now() + timedelta(seconds=MAX_SKEW_SECONDS):
            raise ValueError("must not be in the future")
        return v

    @field_validator("ended_at")
    @classmethod
    def _after_start(cls, v: datetime, info: Any) -> datetime:
        started = info.data.get("started_at")
        if started is not None and v < started:
            raise ValueError("must not be before started_at")
        return v

    def text(self) -> str:
        parts = [p for p in (self.agent_notes, (self.transcription or "").strip()) if p]
        return "\n\n".join(parts)


def published_schema() -> dict[str, Any]:
    return CallRecord.model_json_schema()


def _error_schema() -> dict[str, Any]:
    field = {
        "type": "object",
        "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["field", "reason"],
    }
    error = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": "string"},
            "fields": {"type": "array", "items": field},
        },
        "required": ["code", "message"],
    }
    return {"type": "object", "properties": {"error": error}, "required": ["error"]}


def published_openapi() -> dict[str, Any]:
    """OpenAPI 3.1 of the endpoint; the body schema is the JSON Schema file beside it."""
    signed = [
        {"name": "X-Gateway-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
        {
            "name": "X-Gateway-Signature",
            "in": "header",
            "required": True,
            "description": 'sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>"> with GATEWAY_PHONE_SECRET',
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
        },
    ]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    accepted = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "reference": {"type": "string"},
            "tracking_url": {"type": "string", "format": "uri"},
        },
        "required": ["id", "reference", "tracking_url"],
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meldpunt gateway: call records", "version": "1"},
        "paths": {
            "/channels/phone/calls": {
                "post": {
                    "summary": "One record per handled call; the same call_id again is a replay",
                    "parameters": signed,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": SCHEMA_FILE.name}}},
                    },
                    "responses": {
                        "202": {
                            "description": "stored (or replayed: header Idempotent-Replayed: true)",
                            "content": {"application/json": {"schema": accepted}},
                        },
                        "400": {"description": "not JSON", "content": error},
                        "401": {
                            "description": "bad, missing or stale signature; no secret",
                            "content": error,
                        },
                        "422": {
                            "description": "schema violation: fields[] name field and reason",
                            "content": error,
                        },
                    },
                }
            }
        },
        "components": {"schemas": {"Error": _error_schema()}},
    }


def _dienst_code(code: str) -> str:
    if code not in DIENST_CODES:
        raise ValueError(f"{code!r} is not a dienst code")
    return code


class IvrMenu(BaseModel):
    """`config/ivr.toml` (documented there): the digits a caller pressed -> the dienst they hint at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    digits: dict[str, Annotated[str, AfterValidator(_dienst_code)]] = Field(default_factory=dict)


@lru_cache(maxsize=8)
def _ivr_table(path: Path, mtime: float) -> dict[str, str]:
    return dict(load_toml_model(path, IvrMenu).digits)


def ivr_table(path: Path) -> dict[str, str]:
    """The IVR table; no file means no hints (every call is classified), not an error."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    return _ivr_table(path, mtime)  # re-read when the file changes


def ivr_dienst(digits: str | None, table: dict[str, str]) -> str | None:
    """The longest prefix of the digits that the table knows."""
    for end in range(len(digits or ""), 0, -1):
        if (found := table.get(digits[:end])) is not None:  # type: ignore[index]
            return found
    return None


def parse_record(raw: bytes) -> CallRecord:
    body = json_object(raw, "invalid_call_record")
    try:
        record = CallRecord.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc, "invalid_call_record") from None
    if record.outcome != "answered" and not record.text():
        raise IntakeRejected(
            422,
            "invalid_call_record",
            "agent_notes: a registered or forwarded call needs agent_notes or a transcription",
            "agent_notes",
        )
    return record


def build_draft(record: CallRecord, raw: bytes, settings: Settings) -> MeldingDraft:
    if record.outcome == "answered":
        dienst: str | None = "info"
    else:
        hint = ivr_dienst(record.ivr_choice, ivr_table(settings.ivr_file))
        dienst = hint if hint != "info" else None  # see config/ivr.toml
    return MeldingDraft(
        channel=Channel.PHONE,
        external_id=record.call_id,
        request_hash=hashlib.sha256(raw).hexdigest(),
        received_at=record.ended_at,
        reporter=Reporter(
            name=record.reporter.name,
            email=record.reporter.email,
            phone=e164(record.caller_number),
        ),
        text=record.text() or "(vraag telefonisch beantwoord)",
        location=record.location,
        dienst=dienst,
        raw=raw.decode(),
    )


def _store_answered(conn: Connection, draft: MeldingDraft, tz: ZoneInfo, prefix: str) -> StoredIntake:
    """Store an answered call closed: dienst info, Beantwoord, stage answered (see module doc)."""
    (stored,) = intake_batch(conn, [IntakeItem(draft, [], None)], tz, prefix)
    if stored.created:
        set_routing(conn, stored.id, RoutingDecision("info", 1.0, ANSWERED_BY), stage=Stage.ANSWERED)
        answered = StatusUpdate(Status.BEANTWOORD, source="intake", note="answered at once by the 1777 desk")
        history.add_status(conn, stored.id, answered)
    return stored


async def _write_answered(store: Store, draft: MeldingDraft, settings: Settings) -> StoredIntake:
    tz, prefix = ZoneInfo(settings.timezone), settings.reference_prefix
    try:
        return await store.write(_store_answered, draft, tz, prefix)
    except IntegrityError:
        # A copy of the same call committed between our lookup and our insert (PostgreSQL runs
        # writes side by side): run again, which now finds it and answers as a replay.
        return await store.write(_store_answered, draft, tz, prefix)


async def post_call(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    metrics = request.app[METRICS]
    if not settings.phone_secret:
        metrics.rejected("phone", "phone_secret_not_configured")
        raise IntakeRejected(
            401,
            "phone_secret_not_configured",
            "call records are refused: GATEWAY_PHONE_SECRET is not configured on the gateway",
        )
    started = time.perf_counter()
    try:
        raw = await signed_body(request, settings.phone_secret, "call record")
        record = parse_record(raw)
        draft = build_draft(record, raw, settings)
    except IntakeRejected as exc:
        metrics.rejected("phone", exc.code)
        raise
    if record.outcome == "answered":
        stored = await _write_answered(request.app[STORE], draft, settings)
        metrics.observe_intake("phone", stored, time.perf_counter() - started)
    else:
        stored = await request.app[INTAKE].submit(draft)
    if stored.conflict:  # the platform re-sent a call with other content: the first record stands
        log.warning(
            "call record %s replayed with other content; the first one is kept",
            record.call_id,
            extra={"reference": stored.reference},
        )
    log.info(
        "call record %s",
        "stored" if stored.created else "replayed",
        extra={"reference": stored.reference, "call_id": record.call_id, "outcome": record.outcome},
    )
    body = {
        "id": stored.id,
        "reference": stored.reference,
        "tracking_url": f"{settings.public_url}/t/{stored.tracking_token}",
    }
    return web.json_response(
        body, status=202, headers={} if stored.created else {"Idempotent-Replayed": "true"}
    )


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # regenerate the published files after changing CallRecord
    SCHEMA_FILE.write_text(dump(published_schema()))
    OPENAPI_FILE.write_text(dump(published_openapi()))
