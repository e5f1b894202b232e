"""The web channel: `POST /api/v1/meldingen` with JSON or multipart (photos).

Parsing only: the request becomes a `MeldingDraft` plus files, or an
`IntakeRejected` that names the field and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ConfigDict, Field, ValidationError, field_validator

from gateway import clock, phonenumber
from gateway.intake import IncomingFile, IntakeRejected, invalid, json_object
from gateway.melding import Channel, CleanInput, Location, MeldingDraft, Reporter
from gateway.national_number import normalised

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")
_EMAIL_OK = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FORM_FIELDS = {
    "reporter_name": ("reporter", "name"),
    "reporter_email": ("reporter", "email"),
    "reporter_phone": ("reporter", "phone"),
    "reporter_feedback": ("reporter", "feedback"),
    "address": ("location", "address"),
    "street": ("location", "street"),
    "house_number": ("location", "house_number"),
    "postcode": ("location", "postcode"),
    "lat": ("location", "lat"),
    "lon": ("location", "lon"),
}


def is_email(value: str) -> bool:
    """The shape an e-mail address must have (the API's check, and the web form's before it)."""
    return bool(_EMAIL_OK.match(value))


class MeldingIn(CleanInput):
    """The API's request body. Unknown fields are refused: a typo must not silently drop data."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(min_length=1)
    subject: str | None = Field(default=None, max_length=300)
    language: Literal["nl", "fr", "en"] | None = None
    reporter: Reporter = Field(default_factory=Reporter)
    location: Location = Field(default_factory=Location)
    # A portal intake (the citizen logged in with eID/itsme): any formatting, stored as 11 digits
    national_register_number: str | None = Field(default=None, repr=False)

    @field_validator("national_register_number")
    @classmethod
    def _national_number(cls, v: str | None) -> str | None:
        return None if v is None else normalised(v)  # its message never repeats the number

    @field_validator("reporter")
    @classmethod
    def _email_shape(cls, v: Reporter) -> Reporter:
        if v.email and not is_email(v.email):
            raise ValueError("reporter.email is not an e-mail address")
        return v

    @field_validator("reporter")
    @classmethod
    def _feedback_reaches(cls, v: Reporter) -> Reporter:
        """The way chosen must reach the reporter. An SMS number is kept in E.164: a reply SMS
        finds its melding by the sender's number (gateway.store.sms.conversation)."""
        if v.feedback == "email" and not v.email:
            raise ValueError("reporter.feedback 'email' needs reporter.email")
        if v.feedback == "sms":
            if not v.phone or not phonenumber.is_mobile(v.phone):
                raise ValueError("reporter.feedback 'sms' needs a mobile number in reporter.phone")
            return v.model_copy(update={"phone": phonenumber.e164(v.phone)})
        return v


async def _read_json(request: web.Request) -> tuple[dict[str, Any], bytes]:
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    return json_object(raw, "invalid_melding"), raw


async def _read_part(part: BodyPartReader, budget: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > budget:
            raise IntakeRejected(413, "body_too_large", "request body exceeds the size limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_multipart(request: web.Request, limit: int) -> tuple[dict[str, Any], list[IncomingFile]]:
    try:
        return await _read_parts(request, limit)
    except (ValueError, AssertionError, LookupError, HttpProcessingError) as exc:
        # aiohttp's reader says so for a missing boundary, a truncated body or a broken part header.
        raise IntakeRejected(
            400, "malformed_multipart", f"request body is not valid multipart/form-data: {exc}"
        ) from None


async def _read_parts(request: web.Request, limit: int) -> tuple[dict[str, Any], list[IncomingFile]]:
    body: dict[str, Any] = {}
    files: list[IncomingFile] = []
    budget = limit
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise IntakeRejected(415, "nested_multipart", "nested multipart bodies are not accepted")
        data = await _read_part(part, budget)
        budget -= len(data)
        if part.filename is not None:
            files.append(IncomingFile(part.filename, part.headers.get("Content-Type", ""), data))
        elif part.name == "melding":  # the JSON body as one part, photos beside it
            body.update(json_object(data, "invalid_melding", "part 'melding'"))
        elif part.name in _FORM_FIELDS:
            group, key = _FORM_FIELDS[part.name]
            body.setdefault(group, {})[key] = data.decode("utf-8", "replace") or None
        elif part.name:
            body[part.name] = data.decode("utf-8", "replace")
    return body, files


def request_hash(model: MeldingIn, files: list[IncomingFile]) -> str:
    """What a multipart request asked for (its bytes differ per try: the boundary is random)."""
    digest = hashlib.sha256(json.dumps(model.model_dump(mode="json"), sort_keys=True).encode())
    for f in files:
        digest.update(hashlib.sha256(f.data).digest())
    return digest.hexdigest()


async def parse_request(
    request: web.Request, max_text_chars: int, max_body: int
) -> tuple[MeldingDraft, list[IncomingFile]]:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _KEY_OK.match(key):
        raise IntakeRejected(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-200 printable ASCII characters"
        )
    ctype = request.content_type
    files: list[IncomingFile] = []
    raw: bytes | None = None
    if ctype == "application/json":
        body, raw = await _read_json(request)
    elif ctype == "multipart/form-data":
        body, files = await _read_multipart(request, max_body)
    else:
        raise IntakeRejected(
            415,
            "unsupported_media_type",
            f"Content-Type {ctype or '(none)'} is not accepted: send application/json or multipart/form-data",
        )
    try:
        model = MeldingIn.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc, "invalid_melding") from None
    if len(model.text) > max_text_chars:
        raise IntakeRejected(422, "invalid_melding", f"text: at most {max_text_chars} characters", "text")
    # A retried JSON request repeats its bytes: hashing them is enough to tell a retry
    # from another melding under the same Idempotency-Key.
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else request_hash(model, files)
    if "national_register_number" in body:  # kept in its own column only: raw is shown to the desk
        body.pop("national_register_number")
        raw = None
    original = raw.decode() if raw is not None else json.dumps(body, ensure_ascii=False, default=str)
    # Every part was validated above; constructing without validating again saves a pass.
    draft = MeldingDraft.model_construct(
        channel=Channel.WEB,
        external_id=key,
        request_hash=digest,
        received_at=clock.now(),
        reporter=model.reporter,
        subject=model.subject,
        text=model.text,
        language=model.language,
        location=model.location,
        dienst=None,
        raw=original,
        national_register_number=model.national_register_number,
    )
    return draft, files
