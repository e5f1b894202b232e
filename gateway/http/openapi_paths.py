"""The path table of the OpenAPI description (gateway/http/openapi.py builds the document from it).

One `Operation` per route of gateway/http/routes.py that a program calls. Request bodies refer to the
pydantic models that validate them (`MeldingIn`, `StatusCallback`, `CallRecord`, `DienstChoice`,
`NationalRegisterNumberIn`); the form webhooks of Twilio and Open311 have no model (their handlers
read a form field by field), so their fields are listed here. Paths are written as aiohttp's
canonical form of the route (`/t/{token}.json`, `/open311/v2/services.{fmt}`), so that
tests/test_openapi.py can hold the table and the router in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from gateway.channels.open311.formats import FORMATS
from gateway.channels.phone.calls import CallRecord
from gateway.channels.twilio.voicecall import EVENTS
from gateway.channels.web.parse import MeldingIn
from gateway.http.api import StatusCallback
from gateway.http.desk import DienstChoice
from gateway.http.identity import NationalRegisterNumberIn
from gateway.http.openapi_models import (
    Accepted,
    AddressSuggestion,
    DeskAnswer,
    ErrorBody,
    IdentityAnswer,
    MeldingList,
    MeldingRead,
    Open311Error,
    StatusAnswer,
)
from gateway.melding import Stage

# What validates requests (their schema as validation sees it) and what answers are (as serialized).
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    MeldingIn,
    StatusCallback,
    CallRecord,
    DienstChoice,
    NationalRegisterNumberIn,
)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorBody,
    Accepted,
    MeldingRead,
    MeldingList,
    StatusAnswer,
    DeskAnswer,
    IdentityAnswer,
    AddressSuggestion,
    Open311Error,
)


def ref(model: type[BaseModel] | str) -> dict[str, Any]:
    name = model if isinstance(model, str) else model.__name__
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query | header
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Body:
    media: dict[str, dict[str, Any]]  # media type -> schema
    required: bool = True


@dataclass(frozen=True)
class Answer:
    description: str
    media: str | None = "application/json"
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # aiohttp's canonical form of the route
    summary: str
    tag: str
    answers: dict[int, Answer]
    params: tuple[Param, ...] = ()
    body: Body | None = None
    description: str = ""
    security: tuple[str, ...] = field(default=())


# -- shared pieces ---------------------------------------------------------------------------------

_KEY = {"type": "string", "minLength": 1, "pattern": "^[^/\\x00-\\x1f\\x7f]+$"}
_TOKEN = {"type": "string", "minLength": 1, "pattern": "^[^/.\\x00-\\x1f\\x7f]+$"}
_ANY_JSON: dict[str, Any] = {}
_FORM_STRING = {"type": "string"}


def _error(description: str) -> Answer:
    return Answer(description, schema=ref(ErrorBody))


def _ok(
    description: str, schema: dict[str, Any] | None = None, status_media: str = "application/json"
) -> Answer:
    return Answer(description, status_media, schema)


def _path(name: str, schema: dict[str, Any] = _KEY, description: str = "") -> Param:
    return Param(name, "path", schema, description, required=True)


def _query(name: str, schema: dict[str, Any], description: str = "") -> Param:
    return Param(name, "query", schema, description)


SIGNED = (
    Param("X-Gateway-Timestamp", "header", {"type": "string"}, "unix seconds, within 5 minutes", True),
    Param(
        "X-Gateway-Signature",
        "header",
        {"type": "string"},
        'sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>"> (PRODUCT.md)',
        True,
    ),
)
# Reporters' personal data: read with the token the city gave the reader (GATEWAY_API_READ_TOKEN);
# the scheme is described in gateway.http.openapi (SECURITY_SCHEMES).
READ_TOKEN = ("readToken",)
TWILIO_SIGNED = (
    Param(
        "X-Twilio-Signature",
        "header",
        {"type": "string"},
        "Twilio's signature over GATEWAY_PUBLIC_URL + path and query and the form",
        True,
    ),
)
_READ_TOKEN_ERRORS = {401: _error("no or a wrong read token, or none configured (GATEWAY_API_READ_TOKEN)")}
_SIGNATURE_ERRORS = {401: _error("missing, stale or wrong signature; or no secret configured")}
_TWILIO_ERRORS = {
    403: _error("missing or forged X-Twilio-Signature; nothing stored"),
    503: _error("GATEWAY_TWILIO_AUTH_TOKEN is not set"),
}
_BODY_ERRORS = {
    400: _error("not JSON, or malformed"),
    408: _error("the body did not arrive within http_body_timeout"),
    413: _error("the body is larger than max_body_bytes"),
}
_STORE_DOWN = {503: _error("the store or the queue is unavailable (Retry-After)")}


def _form(
    properties: dict[str, dict[str, Any]], required: tuple[str, ...] = (), *, closed: bool = False
) -> dict[str, Any]:
    out = {"type": "object", "properties": properties, "required": list(required)}
    return out | {"additionalProperties": False} if closed else out


_MULTIPART_FIELDS = (
    "subject",
    "language",
    "reporter_name",
    "reporter_email",
    "reporter_phone",
    "address",
    "street",
    "house_number",
    "postcode",
    "lat",
    "lon",
)
MULTIPART_MELDING = _form(
    {
        "text": {
            "type": "string",
            "minLength": 1,
            "description": "required unless the part melding holds it",
        },
        **{name: _FORM_STRING for name in _MULTIPART_FIELDS},
        "melding": {"type": "string", "description": "the JSON body (MeldingIn) as one part, instead"},
        "photo": {"type": "string", "format": "binary", "description": "any part with a filename is a file"},
    },
    required=("text",),
    closed=True,  # another field is refused (422), as in MeldingIn
)
TWILIO_SMS = _form(
    {
        "MessageSid": _FORM_STRING,
        "From": _FORM_STRING,
        "To": _FORM_STRING,
        "Body": _FORM_STRING,
        "NumMedia": _FORM_STRING,
        "MediaUrl0": _FORM_STRING,
        "MediaContentType0": _FORM_STRING,
    },
    required=("MessageSid", "From", "Body"),  # as Twilio always sends them
)
TWILIO_SMS_STATUS = _form(
    {"MessageSid": _FORM_STRING, "MessageStatus": _FORM_STRING, "ErrorCode": _FORM_STRING},
    required=("MessageSid", "MessageStatus"),
)
TWILIO_VOICE = _form(
    {
        name: _FORM_STRING
        for name in (
            "CallSid",
            "From",
            "To",
            "CallStatus",
            "SequenceNumber",
            "CallDuration",
            "RecordingSid",
            "RecordingUrl",
            "RecordingStatus",
            "RecordingDuration",
            "TranscriptionSid",
            "TranscriptionStatus",
            "TranscriptionText",
        )
    },
    required=("CallSid",),
)
OPEN311_POST = _form(
    {
        name: _FORM_STRING
        for name in (
            "api_key",
            "jurisdiction_id",
            "service_code",
            "lat",
            "long",
            "address_string",
            "address_id",
            "email",
            "device_id",
            "account_id",
            "first_name",
            "last_name",
            "phone",
            "description",
            "media_url",
        )
    },
    required=("api_key", "service_code"),
)
FMT = _path("fmt", {"type": "string", "enum": list(FORMATS)}, "json or xml: the answer's format")
JURISDICTION = _query("jurisdiction_id", {"type": "string"}, "may be left out; any other than ours is 404")


OPEN311_MEDIA = "open311"  # JSON or XML as {fmt} says: openapi.py writes both contents


def _open311(description: str, schema: dict[str, Any] | None = None) -> Answer:
    return Answer(description, OPEN311_MEDIA, schema or {"type": ["array", "object"]})


def _open311_error(description: str) -> Answer:
    return _open311(f"the spec's error list: {description}", {"type": "array", "items": ref(Open311Error)})


_OPEN311_ERRORS = {
    400: _open311_error("a field missing or wrong"),
    404: _open311_error("no such service, request, token or jurisdiction"),
    503: _open311_error("the store is unavailable (Retry-After); nothing was stored"),
}
OPEN311 = "open311"

# -- the table ---------------------------------------------------------------------------------------

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/healthz",
        "Liveness and readiness: store and queue reachable",
        "operations",
        {200: _ok("healthy"), 503: _ok("the store or the queue is unreachable")},
    ),
    Operation(
        "get",
        "/metrics",
        "Prometheus metrics",
        "operations",
        {200: _ok("the text exposition format", {"type": "string"}, "text/plain")},
    ),
    Operation(
        "get",
        "/api/v1/openapi.json",
        "This description",
        "operations",
        {200: _ok("OpenAPI 3.1", {"type": "object"})},
    ),
    Operation(
        "get",
        "/api/v1/docs",
        "This description, readable (Swagger UI)",
        "operations",
        {200: _ok("an HTML page", {"type": "string"}, "text/html")},
    ),
    Operation(
        "post",
        "/api/v1/meldingen",
        "A new melding (JSON, or multipart with photos)",
        "meldingen",
        {
            202: _ok("stored and queued", ref(Accepted)),
            **_BODY_ERRORS,
            415: _error("neither application/json nor multipart/form-data"),
            422: _error("a field is invalid (each named), or an Idempotency-Key reused for another melding"),
            **_STORE_DOWN,
        },
        params=(
            Param(
                "Idempotency-Key",
                "header",
                {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
                "1-200 printable ASCII characters: the same key and content again answers the same melding",
            ),
        ),
        body=Body({"application/json": ref(MeldingIn), "multipart/form-data": MULTIPART_MELDING}),
    ),
    Operation(
        "get",
        "/api/v1/meldingen",
        "Meldingen, the latest first (the desk's triage queue with stage=triage)",
        "meldingen",
        {
            200: _ok("the meldingen", ref(MeldingList)),
            400: _error("a bad stage or limit"),
            **_READ_TOKEN_ERRORS,
            **_STORE_DOWN,
        },
        params=(
            _query("stage", {"type": "string", "enum": [s.value for s in Stage]}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        security=READ_TOKEN,
    ),
    Operation(
        "get",
        "/api/v1/meldingen/{id}",
        "One melding with its history, deliveries and duplicate suggestions",
        "meldingen",
        {
            200: _ok("the melding", ref(MeldingRead)),
            404: _error("no melding with this id"),
            **_READ_TOKEN_ERRORS,
            **_STORE_DOWN,
        },
        params=(_path("id"),),
        security=READ_TOKEN,
    ),
    Operation(
        "post",
        "/api/v1/meldingen/{reference}/status",
        "Status callback of the case system (signed)",
        "case system",
        {
            200: _ok("applied, or already so", ref(StatusAnswer)),
            **_BODY_ERRORS,
            **_SIGNATURE_ERRORS,
            404: _error("no melding with this reference"),
            409: _error("a transition the status table refuses, or a melding not handed to the case system"),
            422: _error("an invalid field"),
            **_STORE_DOWN,
        },
        params=(_path("reference"), *SIGNED),
        body=Body({"application/json": ref(StatusCallback)}),
    ),
    Operation(
        "post",
        "/api/v1/meldingen/{id}/dienst",
        "The desk routes a melding waiting in triage (signed)",
        "desk",
        {
            200: _ok("routed (stage received: the worker takes it on), or already so", ref(DeskAnswer)),
            **_BODY_ERRORS,
            **_SIGNATURE_ERRORS,
            404: _error("no melding with this id or reference"),
            409: _error("the melding is not in triage"),
            422: _error("not exactly {dienst}, or an unknown dienst"),
            **_STORE_DOWN,
        },
        params=(_path("id", description="the melding's id or reference"), *SIGNED),
        body=Body({"application/json": ref(DienstChoice)}),
    ),
    Operation(
        "put",
        "/api/v1/meldingen/{id}/national-register-number",
        "The desk links a melding to a citizen for the portal feeds (signed)",
        "desk",
        {
            200: _ok("linked or unlinked", ref(IdentityAnswer)),
            **_BODY_ERRORS,
            **_SIGNATURE_ERRORS,
            404: _error("no melding with this id or reference"),
            409: _error("its personal data was removed (retention)"),
            422: _error("not exactly {national_register_number}, or not a valid number"),
            **_STORE_DOWN,
        },
        params=(_path("id", description="the melding's id or reference"), *SIGNED),
        body=Body({"application/json": ref(NationalRegisterNumberIn)}),
    ),
    Operation(
        "get",
        "/api/v1/addresses",
        "Address suggestions from the street register (fuzzy)",
        "web form",
        {
            200: _ok("best first", {"type": "array", "items": ref(AddressSuggestion)}),
            400: _error("bad q or limit"),
        },
        params=(
            Param("q", "query", {"type": "string", "minLength": 2, "maxLength": 100}, required=True),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 10}),
        ),
    ),
    Operation(
        "get",
        "/t/{token}.json",
        "The tracking page's data (what the reporter sees)",
        "tracking",
        {
            200: _ok("status, history, place and photos; nothing personal", {"type": "object"}),
            404: _error("no melding with this token"),
            429: _error("too many unknown tokens from this client (Retry-After)"),
            **_STORE_DOWN,
        },
        params=(_path("token", _TOKEN), _query("lang", {"type": "string", "enum": ["nl", "fr", "en"]})),
    ),
    Operation(
        "get",
        "/t/{token}/photos/{n}",
        "A thumbnail of the melding's n-th photo (JPEG)",
        "tracking",
        {
            200: _ok("the thumbnail", {"type": "string", "format": "binary"}, "image/jpeg"),
            404: _error("no such token or photo"),
            429: _error("too many unknown tokens from this client (Retry-After)"),
            **_STORE_DOWN,
        },
        params=(_path("token", _TOKEN), _path("n")),
    ),
    Operation(
        "post",
        "/channels/phone/calls",
        "One record per handled call (signed with GATEWAY_PHONE_SECRET)",
        "phone",
        {
            202: _ok("stored (or replayed)", ref(Accepted)),
            **_BODY_ERRORS,
            **_SIGNATURE_ERRORS,
            422: _error("a field is invalid (each named)"),
            **_STORE_DOWN,
        },
        params=SIGNED,
        body=Body({"application/json": ref(CallRecord)}),
    ),
    Operation(
        "post",
        "/channels/twilio/sms",
        "Twilio's inbound SMS webhook; answered with TwiML",
        "twilio",
        {
            200: _ok("TwiML with the reference", {"type": "string"}, "text/xml"),
            422: _error("a MessageSid over 64 characters"),
            **_TWILIO_ERRORS,
        },
        params=TWILIO_SIGNED,
        body=Body({"application/x-www-form-urlencoded": TWILIO_SMS}),
    ),
    Operation(
        "post",
        "/channels/twilio/sms/status",
        "Twilio's delivery receipt (StatusCallback) of an SMS we sent",
        "twilio",
        {
            204: Answer("recorded (or an unknown MessageSid, logged)", None),
            422: _error("no MessageSid or MessageStatus, or a MessageSid over 64 characters"),
            **_TWILIO_ERRORS,
        },
        params=TWILIO_SIGNED,
        body=Body({"application/x-www-form-urlencoded": TWILIO_SMS_STATUS}),
    ),
    Operation(
        "post",
        "/channels/twilio/voice/{event}",
        "Twilio Voice callbacks: status, recording, transcription",
        "twilio",
        {
            204: Answer("committed", None),
            404: _error("another event than these three"),
            422: _error("no CallSid, or a field too long"),
            **_TWILIO_ERRORS,
        },
        params=(_path("event", {"type": "string", "enum": list(EVENTS)}), *TWILIO_SIGNED),
        body=Body({"application/x-www-form-urlencoded": TWILIO_VOICE}),
    ),
    Operation(
        "get",
        "/open311/v2/discovery.{fmt}",
        "GeoReport v2 service discovery",
        OPEN311,
        {200: _open311("the discovery file"), 404: _open311_error("another format than json or xml")},
        params=(FMT,),
    ),
    Operation(
        "get",
        "/open311/v2/services.{fmt}",
        "GeoReport v2 services: one per dienst",
        OPEN311,
        {200: _open311("the services"), **_OPEN311_ERRORS},
        params=(FMT, JURISDICTION),
    ),
    Operation(
        "get",
        "/open311/v2/services/{code}.{fmt}",
        "GeoReport v2 service definition",
        OPEN311,
        {200: _open311("no extra attributes"), **_OPEN311_ERRORS},
        params=(_path("code", _TOKEN), FMT, JURISDICTION),
    ),
    Operation(
        "post",
        "/open311/v2/requests.{fmt}",
        "GeoReport v2: a new service request (a melding of channel open311)",
        OPEN311,
        {
            200: _open311("service_request_id and token"),
            **_OPEN311_ERRORS,
            403: _open311_error("api_key missing, unknown or over its rate"),
        },
        params=(FMT,),
        body=Body({"application/x-www-form-urlencoded": OPEN311_POST}),
    ),
    Operation(
        "get",
        "/open311/v2/requests.{fmt}",
        "GeoReport v2: service requests by id, service, period and status",
        OPEN311,
        {200: _open311("the latest first, at most 1000"), **_OPEN311_ERRORS},
        params=(
            FMT,
            JURISDICTION,
            _query("service_request_id", {"type": "string"}, "comma list, at most 100"),
            _query("service_code", {"type": "string"}, "comma list"),
            _query("start_date", {"type": "string", "format": "date-time"}),
            _query("end_date", {"type": "string", "format": "date-time"}),
            _query("status", {"type": "string"}, "open, closed or both (comma list)"),
        ),
    ),
    Operation(
        "get",
        "/open311/v2/requests/{id}.{fmt}",
        "GeoReport v2: one service request by reference",
        OPEN311,
        {200: _open311("the request"), **_OPEN311_ERRORS},
        params=(_path("id", _TOKEN), FMT, JURISDICTION),
    ),
    Operation(
        "get",
        "/open311/v2/tokens/{token}.{fmt}",
        "GeoReport v2: the request a POST's token stands for",
        OPEN311,
        {200: _open311("service_request_id and token"), **_OPEN311_ERRORS},
        params=(_path("token", _TOKEN), FMT, JURISDICTION),
    ),
)
