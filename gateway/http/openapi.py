"""`GET /api/v1/openapi.json`: one OpenAPI 3.1 description of the whole HTTP API, and
`GET /api/v1/docs`: the same, readable, in Swagger UI (vendored in static/vendor/swagger-ui/).

The document is built once per app from the path table (gateway/http/openapi_paths.py) and the
pydantic models that validate the requests: each model's JSON Schema (pydantic writes JSON Schema
2020-12, which OpenAPI 3.1 takes as it is) lands in components/schemas, referred to by name.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic.json_schema import models_json_schema

from gateway.appkeys import SETTINGS
from gateway.http.openapi_paths import (
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
REF_TEMPLATE = "#/components/schemas/{model}"
DOCS_SCRIPTS = "/static/vendor/swagger-ui/"


def _schemas() -> dict[str, Any]:
    """Every model's schema under its own name, with the models it nests (Reporter, Location, ...)."""
    models = [(m, "validation") for m in REQUEST_MODELS] + [(m, "serialization") for m in RESPONSE_MODELS]
    _, top = models_json_schema(models, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    return dict(sorted(top.get("$defs", {}).items()))


def _parameter(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema}
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
        out["parameters"] = [_parameter(p) for p in op.params]
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body.required,
            "content": {media: {"schema": schema} for media, schema in op.body.media.items()},
        }
    for status, answer in sorted(op.answers.items()):
        response: dict[str, Any] = {"description": answer.description}
        if (content := _content(answer)) is not None:
            response["content"] = content
        out["responses"][str(status)] = response
    return out


@cache
def document(server_url: str) -> dict[str, Any]:
    """The OpenAPI document; `server_url` is GATEWAY_PUBLIC_URL (the same for every request)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
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
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "gatewaySignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Gateway-Signature",
                    "description": "HMAC of PRODUCT.md, with X-Gateway-Timestamp",
                },
            },
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    doc = document(request.app[SETTINGS].public_url)
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
