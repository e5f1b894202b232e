"""`GET /api/v1/openapi.json`: one OpenAPI 3.1 description of the whole HTTP API, and
`GET /api/v1/docs`: the same, readable, in Swagger UI (vendored in static/vendor/swagger-ui/).

The document is built once per app from the path table (gateway/http/openapi_paths.py) and the
pydantic models that validate the requests: each model's JSON Schema (pydantic writes JSON Schema
2020-12, which OpenAPI 3.1 takes as it is) lands in components/schemas, referred to by name.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic.json_schema import models_json_schema

from gateway.appkeys import SETTINGS
from gateway.channels.open311.services import services as open311_services
from gateway.config import Settings
from gateway.http.openapi_paths import (
    OPEN311,
    OPEN311_MEDIA,
    OPERATIONS,
    REQUEST_MODELS,
    RESPONSE_MODELS,
    Answer,
    Operation,
    Param,
)

TITLE = "Meldpunt 1777 intake gateway"
VERSION = "1"
SECURITY_SCHEMES = {
    "readToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "GATEWAY_API_READ_TOKEN: reading meldingen (reporters' personal data)",
    }
}
REF_TEMPLATE = "#/components/schemas/{model}"
DOCS_SCRIPTS = "/static/vendor/swagger-ui/"


def _schemas() -> dict[str, Any]:
    """Every model's schema under its own name, with the models it nests (Reporter, Location, ...)."""
    models = [(m, "validation") for m in REQUEST_MODELS] + [(m, "serialization") for m in RESPONSE_MODELS]
    _, top = models_json_schema(models, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    return dict(sorted(top.get("$defs", {}).items()))


def _parameter(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required, "schema": dict(p.schema)}
    if p.description:
        out["description"] = p.description
    return out


def _content(answer: Answer) -> dict[str, Any] | None:
    if answer.media is None:
        return None
    if answer.media == OPEN311_MEDIA:  # as {fmt} asks; the XML mirrors the JSON (README, Open311)
        return {
            "application/json": {"schema": answer.schema or {}},
            "text/xml": {"schema": {"type": "string"}},
        }
    return {answer.media: {"schema": answer.schema or {}}}


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{op.path}",
        "tags": [op.tag],
        "responses": {},
    }
    if op.description:
        out["description"] = op.description
    if op.params:
        out["parameters"] = [_parameter(p) for p in op.params]  # copies: _localised may change them
    if op.security:
        out["security"] = [{name: []} for name in op.security]
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body.required,
            "content": {media: {"schema": copy.deepcopy(schema)} for media, schema in op.body.media.items()},
        }
    for status, answer in sorted(op.answers.items()):
        response: dict[str, Any] = {"description": answer.description}
        if (content := _content(answer)) is not None:
            response["content"] = content
        out["responses"][str(status)] = response
    return out


@dataclass(frozen=True)
class Site:
    """What the description says of this installation: where it is, and what Open311 offers."""

    server_url: str  # GATEWAY_PUBLIC_URL
    jurisdiction_id: str
    service_codes: tuple[str, ...]
    attachment_types: tuple[str, ...] = ("image/jpeg",)

    @classmethod
    def of(cls, settings: Settings) -> Site:
        offered = tuple(s.code for s in open311_services(settings.diensten_file))
        types = tuple(settings.attachment_types)
        return cls(settings.public_url, settings.open311_jurisdiction_id, offered, types)


def _with_file_types(op: dict[str, Any], site: Site) -> dict[str, Any]:
    """A multipart photo part declares one of the accepted types (else 415)."""
    multipart = op.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if multipart:
        multipart["encoding"] = {"photo": {"contentType": ", ".join(site.attachment_types)}}
    return op


def _localised(op: dict[str, Any], site: Site) -> dict[str, Any]:
    """Open311's jurisdiction and service codes as enums: this gateway answers 404 for any other."""
    enums = {"jurisdiction_id": [site.jurisdiction_id], "code": list(site.service_codes)}
    for param in op.get("parameters", []):
        if param["name"] in enums:
            param["schema"] = {**param["schema"], "enum": enums[param["name"]]}
    form = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
    if form:  # POST requests: the same two as form fields
        fields = form["schema"]["properties"]
        fields["jurisdiction_id"] = {"type": "string", "enum": enums["jurisdiction_id"]}
        fields["service_code"] = {"type": "string", "enum": enums["code"]}
    return op


@cache
def document(site: Site) -> dict[str, Any]:
    """The OpenAPI document (the same for every request of one configuration)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        built = _with_file_types(_operation(op), site)
        paths.setdefault(op.path, {})[op.method] = _localised(built, site) if op.tag == OPEN311 else built
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Every HTTP endpoint a program calls: intake (JSON and multipart), reading meldingen, the "
                "case system's status callbacks, the desk's routing, call records, Twilio's webhooks, "
                "Open311 GeoReport v2, tracking data and address suggestions. Errors of the gateway's own "
                "API are JSON `ErrorBody`; Open311 answers errors in the spec's own format."
            ),
        },
        "servers": [{"url": site.server_url}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    doc = document(Site.of(request.app[SETTINGS]))
    response = web.json_response(doc, dumps=lambda d: json.dumps(d, ensure_ascii=False))
    response.headers["Access-Control-Allow-Origin"] = "*"  # an integrator's own tooling may load it
    return response


async def docs_page(request: web.Request) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "api_docs.html", request, {"title": TITLE, "spec_url": "/api/v1/openapi.json", "vendor": DOCS_SCRIPTS}
    )
    # Scripts from the gateway only; Swagger UI sets inline styles and shows data: images (its icons).
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


__all__ = ["docs_page", "document", "openapi_json"]
