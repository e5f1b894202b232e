"""The answers of the HTTP API as pydantic models, for the OpenAPI description only: the handlers
build these bodies as dicts (gateway/http/api.py, desk.py, identity.py, addresses.py), and
tests/test_openapi.py's fuzz checks the refusals against `ErrorBody`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway.melding import Melding


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. invalid_melding, not_found, invalid_signature")
    message: str
    field: str | None = Field(default=None, description="the field at fault, when one is")
    fields: list[dict[str, str]] | None = Field(default=None, description="each field at fault and why")


class ErrorBody(BaseModel):
    """Every refusal of the gateway's own API (gateway.handling.error_body)."""

    error: ErrorDetail


class Accepted(BaseModel):
    """A melding was stored and queued (or replayed: header `Idempotent-Replayed: true`)."""

    id: str
    reference: str = Field(description="e.g. 1777-2026-000001")
    tracking_url: str
    attachments_not_stored: list[dict[str, str]] | None = None


class MeldingRead(Melding):
    """`GET /api/v1/meldingen/{id}`: the melding, its history, deliveries and duplicate suggestions."""

    tracking_token: str = Field(default="", exclude=True)
    tracking_url: str
    duplicate_suggestions: list[dict[str, Any]] = Field(default_factory=list)
    mms_media: list[dict[str, Any]] | None = None


class MeldingList(BaseModel):
    meldingen: list[MeldingRead]


class StatusAnswer(BaseModel):
    reference: str
    status: str
    changed: bool = Field(description="false when the melding already had this status (a repeat)")


class DeskAnswer(BaseModel):
    id: str
    reference: str
    dienst: str
    stage: str
    changed: bool


class IdentityAnswer(BaseModel):
    id: str
    reference: str
    linked: bool
    national_register_number: str | None = Field(description="masked: only the last two digits")


class AddressSuggestion(BaseModel):
    label: str
    street: str
    number: str | None
    postcode: str | None
    lat: float | None
    lon: float | None


class Open311Error(BaseModel):
    """GeoReport v2's error (a list of these, or `<errors><error>` in XML)."""

    code: int
    description: str
