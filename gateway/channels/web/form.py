"""The web channel's citizen form (`POST /`, gateway/http/form.py): its multipart body becomes the same
`MeldingDraft` the API makes (`MeldingIn`'s validation, channel `web`), or a list of errors, each tied
to the form field it is about, for the page to show beside that field.

Unlike the API, which answers the first problem, the form reads the whole body even past a refused
photo: the citizen hears of every field and every file at once, and what was typed comes back.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError

from gateway import clock, phonenumber
from gateway.channels.web.parse import MeldingIn, is_email, request_hash
from gateway.cleantext import clean_text
from gateway.config import Settings
from gateway.intake import IncomingFile, Intake, IntakeRejected
from gateway.melding import Channel, Location, MeldingDraft, Reporter

log = logging.getLogger(__name__)

TEXT_FIELDS = (
    "description",
    "address",
    "street",
    "house_number",
    "postcode",
    "lat",
    "lon",
    "reporter_name",
    "reporter_email",
    "reporter_phone",
    "feedback",
    "lang",
    "submission",
    "website",  # the honeypot: hidden from people, filled by bots
)
PHOTOS = "photos"
HONEYPOT = "website"
FEEDBACK = ("email", "sms", "none")
MAX_FIELD_BYTES = 200_000  # one text field; the description's own limit is max_text_chars
_KEY_OK = re.compile(r"^[0-9a-f]{32}$")


def _max_length(model: type[BaseModel], name: str) -> int:
    return next(m.max_length for m in model.model_fields[name].metadata if isinstance(m, MaxLen))


# The model's limits, read from it so form and API never differ: the form checks them itself, each
# with a message of its own and all at once (MeldingIn's are English and stop at a part's first
# problem), and the page gives its inputs these as maxlength.
MAX_LENGTHS: Final[dict[str, int]] = {
    "reporter_name": _max_length(Reporter, "name"),
    "reporter_email": _max_length(Reporter, "email"),
    "reporter_phone": _max_length(Reporter, "phone"),
    "address": _max_length(Location, "address"),
}
# Filled by the page's script from a suggestion or the map, never typed: one message for the place.
_PLACE_LENGTHS = {name: _max_length(Location, name) for name in ("street", "house_number", "postcode")}
_COORDINATES = {"lat": 90.0, "lon": 180.0}
# Where MeldingIn's complaint about a location or reporter part shows on the form.
_FIELD_OF = {
    "text": "description",
    "reporter.name": "reporter_name",
    "reporter.email": "reporter_email",
    "reporter": "reporter_email",  # MeldingIn's e-mail shape check
    "reporter.phone": "reporter_phone",
    "location.address": "address",
    "location.lat": "address",
    "location.lon": "address",
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one form field: the catalogue key `form.error.<key>` and its variables."""

    field: str
    key: str
    variables: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class FormLimits:
    max_text_chars: int
    max_body_bytes: int
    max_attachments: int
    max_attachment_bytes: int


@dataclass
class FormInput:
    values: dict[str, str]
    files: list[IncomingFile]
    errors: list[FieldError]  # found while reading: a photo too large, a body too large

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.values.get(HONEYPOT, "").strip())

    @property
    def language(self) -> str:
        lang = self.values.get("lang", "")
        return lang if lang in ("nl", "fr", "en") else "nl"


class _TooMuch(Exception):
    pass


async def read_form(request: web.Request, limits: FormLimits) -> FormInput:
    """Every text field and photo of the form's multipart body; a part past the limits is drained
    and named in `errors`, never the reason to drop the rest."""
    form = FormInput({}, [], [])
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form.errors.append(FieldError("form", "not_a_form"))
        return form
    if request.content_type == "application/x-www-form-urlencoded":  # no photos: a plain post
        try:
            posted = await request.post()
        except (ValueError, HttpProcessingError, web.HTTPRequestEntityTooLarge):
            form.errors.append(FieldError("form", "body_too_large", {"size": _size(limits.max_body_bytes)}))
            return form
        form.values = {k: str(v)[:MAX_FIELD_BYTES] for k, v in posted.items() if k in TEXT_FIELDS}
        return form
    try:
        await _read_parts(request, limits, form)
    except _TooMuch:
        form.errors.append(FieldError(PHOTOS, "body_too_large", {"size": _size(limits.max_body_bytes)}))
    except (ValueError, AssertionError, LookupError, HttpProcessingError):
        form.errors.append(FieldError("form", "not_a_form"))
    return form


async def posted_language(request: web.Request) -> str | None:
    """The form's `lang` field, read without the rest: a POST refused unread (the rate limit) is still
    answered in the language the citizen chose. The page sends `lang` first; photos, last, stay unread."""
    try:
        if request.content_type == "application/x-www-form-urlencoded":
            lang = (await request.post()).get("lang")
        elif request.content_type == "multipart/form-data":
            lang = await _first_lang(request)
        else:
            return None
    except (_TooMuch, ValueError, AssertionError, LookupError, HttpProcessingError, web.HTTPException):
        return None
    return lang if isinstance(lang, str) and lang in ("nl", "fr", "en") else None


async def _first_lang(request: web.Request) -> str | None:
    reader = await request.multipart()
    body = _Budget(MAX_FIELD_BYTES)  # the fields before it: never the whole body
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.filename is not None:
            return None
        data, _ = await body.read(part, 8)
        if part.name == "lang":
            return (data or b"").decode("utf-8", "replace")
    return None


async def _read_parts(request: web.Request, limits: FormLimits, form: FormInput) -> None:
    reader = await request.multipart()
    body = _Budget(limits.max_body_bytes)
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("nested multipart")
        if part.filename is not None:
            data, size = await body.read(part, limits.max_attachment_bytes)
            if not part.filename and size == 0:
                continue  # the photo input with nothing chosen
            if data is None:
                variables = {"name": part.filename, "size": _size(limits.max_attachment_bytes)}
                form.errors.append(FieldError(PHOTOS, "photo_too_large", variables))
                continue
            form.files.append(IncomingFile(part.filename, part.headers.get("Content-Type", ""), data))
        elif part.name in TEXT_FIELDS:
            data, _ = await body.read(part, MAX_FIELD_BYTES)
            form.values[part.name] = (data or b"").decode("utf-8", "replace")
        else:
            await body.read(part, 0)  # an unknown part: drained, ignored


@dataclass
class _Budget:
    """The whole body may hold `limit` bytes (as the API's), drained parts included: reading stops
    there, so a refused photo cannot make the gateway read without end."""

    limit: int
    used: int = 0

    async def read(self, part: BodyPartReader, keep: int) -> tuple[bytes | None, int]:
        """The part's bytes, or None (still read to its end) past `keep`; and its size."""
        chunks: list[bytes] = []
        size = 0
        while chunk := await part.read_chunk():
            size += len(chunk)
            self.used += len(chunk)
            if self.used > self.limit:
                raise _TooMuch
            if size <= keep:
                chunks.append(chunk)
            else:
                chunks.clear()
        return (b"".join(chunks) if size <= keep else None), size


def _size(n: int) -> str:
    """A limit as people read it: "10 MB", "16 kB"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{n / 1024:.0f} kB"


def check_photos(intake: Intake, files: Sequence[IncomingFile], limits: FormLimits) -> list[FieldError]:
    """The intake's own checks, file by file, so that every refused photo is named. The contents
    check decodes images: run this off the event loop."""
    if len(files) > limits.max_attachments:
        return [FieldError(PHOTOS, "too_many_photos", {"max": limits.max_attachments})]
    errors = []
    for f in files:
        try:
            intake.check_files([f])
            intake.check_contents([f])
        except IntakeRejected as exc:
            key = "photo_too_large" if exc.code == "attachment_too_large" else "photo_type"
            shown = photo_limits(intake.settings)
            variables = {
                "name": f.filename or "?",
                "size": shown["photo_size"],
                "types": shown["photo_types"],
            }
            errors.append(FieldError(PHOTOS, key, variables))
    return errors


def photo_limits(settings: Settings) -> dict[str, str]:
    """The photo limits as the form's texts name them: `photo_size` "10 MB", `photo_types` "JPEG, PNG"."""
    types = ", ".join(t.split("/")[-1].upper() for t in settings.attachment_types)
    return {"photo_size": _size(settings.max_attachment_bytes), "photo_types": types}


def _contact_errors(values: dict[str, str]) -> list[FieldError]:
    errors = []
    email = values.get("reporter_email", "").strip()
    phone = values.get("reporter_phone", "").strip()
    feedback = _feedback(values)
    if feedback not in FEEDBACK:
        errors.append(FieldError("feedback", "feedback_choice"))
    if feedback == "email" and not email:
        errors.append(FieldError("reporter_email", "email_needed"))
    if phone and not _possible_phone(phone):
        errors.append(FieldError("reporter_phone", "phone_invalid"))
    elif feedback == "sms" and not phone:
        errors.append(FieldError("reporter_phone", "phone_needed"))
    elif feedback == "sms" and not phonenumber.is_mobile(phone):
        errors.append(FieldError("reporter_phone", "phone_not_mobile"))
    return errors


def _possible_phone(phone: str) -> bool:
    stored = phonenumber.e164(phone)
    return stored.startswith("+") and len(stored) <= MAX_LENGTHS["reporter_phone"]


def _given(values: dict[str, str], name: str) -> str:
    """A field as MeldingIn will see it (cleaned, stripped), so its limits count the same."""
    return clean_text(values.get(name, "")).strip()


def _field_errors(values: dict[str, str]) -> list[FieldError]:
    """The name, e-mail and place checked as MeldingIn will, each problem with its own message."""
    errors = []
    for name, key in (("reporter_name", "name_too_long"), ("reporter_email", "email_too_long")):
        if len(_given(values, name)) > MAX_LENGTHS[name]:
            errors.append(FieldError(name, key, {"max": MAX_LENGTHS[name]}))
    email = _given(values, "reporter_email")
    if email and len(email) <= MAX_LENGTHS["reporter_email"] and not is_email(email):
        errors.append(FieldError("reporter_email", "email_invalid"))
    if len(_given(values, "address")) > MAX_LENGTHS["address"]:
        errors.append(FieldError("address", "address_too_long", {"max": MAX_LENGTHS["address"]}))
    elif any(len(_given(values, n)) > most for n, most in _PLACE_LENGTHS.items()) or not all(
        _coordinate(_given(values, n), most) for n, most in _COORDINATES.items()
    ):
        errors.append(FieldError("address", "place_invalid"))
    return errors


def _coordinate(value: str, most: float) -> bool:
    """Empty, or a number within ±most (what MeldingIn's lat/lon take)."""
    if not value:
        return True
    try:
        number = float(value)
    except ValueError:
        return False
    return math.isfinite(number) and -most <= number <= most


def _feedback(values: dict[str, str]) -> str:
    """The choice made; none made: e-mail when an address is given, else no messages."""
    return values.get("feedback", "") or ("email" if values.get("reporter_email", "").strip() else "none")


def _body(values: dict[str, str], feedback: str | None) -> dict[str, Any]:
    def given(name: str) -> str | None:
        return values.get(name, "").strip() or None

    phone = given("reporter_phone")
    return {
        "text": values.get("description", ""),
        "language": values.get("lang") if values.get("lang") in ("nl", "fr", "en") else None,
        "reporter": {
            "name": given("reporter_name"),
            "email": given("reporter_email"),
            "phone": phonenumber.e164(phone) if phone else None,
            "feedback": feedback,
        },
        "location": {
            "address": given("address"),
            "street": given("street"),
            "house_number": given("house_number"),
            "postcode": given("postcode"),
            "lat": given("lat"),
            "lon": given("lon"),
        },
    }


def to_draft(form: FormInput, limits: FormLimits) -> tuple[MeldingDraft | None, list[FieldError]]:
    """The form as the API's `MeldingIn` (the same validation) and then a draft; or the errors."""
    errors = _contact_errors(form.values)
    # A choice the checks above refused is told there, not again by MeldingIn's own check.
    feedback = None if errors else _feedback(form.values)
    errors += [e for e in _field_errors(form.values) if all(x.field != e.field for x in errors)]
    description = form.values.get("description", "").strip()
    if not description:
        errors.append(FieldError("description", "description_needed"))
    # A line break counted once, as the textarea's maxlength counts it (browsers send CR LF).
    elif len(description.replace("\r\n", "\n")) > limits.max_text_chars:
        errors.append(FieldError("description", "description_too_long", {"max": limits.max_text_chars}))
    body = _body(form.values, feedback)
    model: MeldingIn | None = None
    try:
        model = MeldingIn.model_validate(body)
    except ValidationError as exc:
        for e in exc.errors():
            at = ".".join(str(p) for p in e["loc"])
            where = _FIELD_OF.get(at, "form")
            if not any(x.field == where for x in errors):
                # A case the checks above miss: a message in the page's language, the detail logged.
                log.info("web form field refused by MeldingIn: %s (%s)", at, e["type"])
                errors.append(FieldError(where, "invalid"))
    if errors or model is None:
        return None, errors
    key = form.values.get("submission", "")
    raw = {**body, "form": {"feedback": feedback}}
    draft = MeldingDraft.model_construct(
        channel=Channel.WEB,
        # The form's one-time key: a double click or a reloaded POST gives the same melding.
        external_id=f"form-{key}" if _KEY_OK.match(key) else None,
        request_hash=request_hash(model, form.files),
        received_at=clock.now(),
        reporter=model.reporter,
        subject=None,
        text=model.text,
        language=model.language,
        location=model.location,
        dienst=None,
        raw=json.dumps(raw, ensure_ascii=False),
    )
    return draft, []
