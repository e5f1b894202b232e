"""POST requests: an app's form (application/x-www-form-urlencoded, as the spec says) becomes a
`MeldingDraft` of channel `open311`, or an `Open311Error` that says what is wrong.

- **api_key** must be one of `open311_api_keys` (403 otherwise; compared in constant time).
- **service_code** is the app's (so the citizen's) choice of dienst: the draft carries it as its
  `dienst`, which the worker keeps as it keeps an IVR choice (`routed_by` "channel:open311"),
  instead of classifying the text. The desk can still route it elsewhere through the case system.
- **Location**: `lat` and `long` together, inside `open311_area` (Kortrijk), or `address_string`,
  which the worker locates like any address a channel sends. `address_id` alone is refused: we keep
  no register of the spec's address ids.
- **media_url** is stored as a link (in the text, as "Foto: <url>", and in the raw form), never
  fetched here: a server that fetches URLs a stranger names can be made to reach internal
  addresses (SSRF). Only http(s) URLs are accepted.
- **Contact**: `email` (checked like the web form's), `phone` (a possible number, stored E.164),
  `first_name` / `last_name`; the reporter hears of status changes by the usual notification rules.
- **Idempotency**: a request the app sends again with the same api_key and the same fields is the
  same melding (its token is a digest of both, and it is the melding's `external_id`), so a retry
  after a lost answer creates nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers

from gateway import clock
from gateway.channels.open311.formats import Open311Error
from gateway.channels.open311.services import Service
from gateway.cleantext import clean_text
from gateway.config import Settings
from gateway.language import detect_language
from gateway.melding import Channel, Location, MeldingDraft, Reporter
from gateway.phonenumber import DEFAULT_REGION

MAX_DESCRIPTION = 4000  # the spec's limit
MAX_URL = 2000
_EMAIL_OK = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELD_LIMITS = {"address_string": 500, "email": 320, "first_name": 100, "last_name": 100, "phone": 40}


@dataclass(frozen=True)
class Submission:
    draft: MeldingDraft
    token: str  # the melding's external_id: GET tokens/{token} resolves it


def field(form: Mapping[str, str], name: str) -> str | None:
    """A field cleaned and stripped; empty counts as absent (the spec's "Optional Arguments")."""
    value = form.get(name)
    return (clean_text(value).strip() or None) if isinstance(value, str) else None


def check_api_key(form: Mapping[str, str], settings: Settings) -> str:
    given = field(form, "api_key")
    if given is None:
        raise Open311Error(403, "api_key is missing: a POST needs the api_key the city gave your app")
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in settings.open311_api_keys):
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    return given


def _coordinate(form: Mapping[str, str], name: str) -> float:
    raw = field(form, name)
    try:
        value = float(raw or "")
    except ValueError:
        raise Open311Error(400, f"{name} must be a number in WGS84 degrees, got {raw!r}") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} must be a finite number, got {raw!r}")
    return value


def location(form: Mapping[str, str], settings: Settings) -> Location:
    has_lat, has_long = field(form, "lat") is not None, field(form, "long") is not None
    address = field(form, "address_string")
    if has_lat != has_long:
        raise Open311Error(400, "lat and long must be sent together")
    if not has_lat and address is None:
        why = "address_id is not supported here; " if field(form, "address_id") else ""
        raise Open311Error(400, f"{why}a location is required: lat and long, or address_string")
    if not has_lat:
        return Location(address=address)
    lat, lon = _coordinate(form, "lat"), _coordinate(form, "long")
    south, west, north, east = settings.open311_area
    if not (south <= lat <= north and west <= lon <= east):
        raise Open311Error(
            400,
            f"lat/long {lat}, {lon} lies outside the area we serve "
            f"(lat {south} to {north}, long {west} to {east}): this service is for Kortrijk only",
        )
    return Location(lat=lat, lon=lon, address=address)


def reporter(form: Mapping[str, str]) -> Reporter:
    email, phone = field(form, "email"), field(form, "phone")
    if email is not None and not _EMAIL_OK.match(email):
        raise Open311Error(400, f"email is not an e-mail address: {email!r}")
    if phone is not None:
        try:
            parsed = phonenumbers.parse(phone, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise Open311Error(400, f"phone is not a phone number: {phone!r}")
        phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    name = " ".join(p for p in (field(form, "first_name"), field(form, "last_name")) if p) or None
    return Reporter(name=name, email=email, phone=phone)


def media_url(form: Mapping[str, str]) -> str | None:
    url = field(form, "media_url")
    if url is None:
        return None
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise Open311Error(400, f"media_url must be an http(s) URL of at most {MAX_URL} characters")
    return url


def _check_lengths(form: Mapping[str, str]) -> None:
    description = field(form, "description") or ""
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(
            400, f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION}"
        )
    for name, limit in _FIELD_LIMITS.items():
        if len(field(form, name) or "") > limit:
            raise Open311Error(400, f"{name} is longer than {limit} characters")


def token_of(api_key: str, kept: Mapping[str, str]) -> str:
    """The same app sending the same request gets the same token (and so the same melding)."""
    digest = hmac.new(api_key.encode(), json.dumps(kept, sort_keys=True).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def submission(form: Mapping[str, str], service: Service, settings: Settings) -> Submission:
    """The draft of a POST whose api_key, jurisdiction and service_code were checked."""
    api_key = check_api_key(form, settings)
    _check_lengths(form)
    where = location(form, settings)
    who = reporter(form)
    link = media_url(form)
    description = field(form, "description")
    text = description or service.name
    if link:
        text = f"{text}\n\nFoto: {link}"
    # What the app sent, without the api_key (a secret) and fields it did not fill in.
    kept = {k: v for k in sorted(form) if k != "api_key" and (v := field(form, k)) is not None}
    token = token_of(api_key, kept)
    draft = MeldingDraft(
        channel=Channel.OPEN311,
        external_id=token,
        request_hash=hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest(),
        received_at=clock.now(),
        reporter=who,
        text=text,
        location=where,
        dienst=service.code,
        # GeoReport v2 has no language field: the citizen's own words tell (not the service's name)
        language=detect_language(description) if description else None,
        raw=json.dumps(kept, ensure_ascii=False),
    )
    return Submission(draft, token)
