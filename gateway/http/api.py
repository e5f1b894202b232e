"""HTTP handlers of the JSON API, health and metrics."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import ConfigDict, ValidationError

from gateway.appkeys import INTAKE, METRICS, REDIS, SETTINGS, STORE
from gateway.channels.web.parse import parse_request
from gateway.handling import error_body, read_token_refusal, signed_body
from gateway.intake import IntakeRejected, apply_case_status, invalid, json_object
from gateway.language import text_language
from gateway.melding import CleanInput, Melding, Stage, Status, StatusUpdate
from gateway.queue import live_workers
from gateway.store import InvalidTransition, meldingen
from gateway.store import duplicates as duplicates_store
from gateway.store import media as media_store

log = logging.getLogger(__name__)


def tracking_url(request: web.Request, token: str) -> str:
    return f"{request.app[SETTINGS].public_url}/t/{token}"


def melding_json(request: web.Request, melding: Melding) -> dict[str, Any]:
    data = melding.model_dump(mode="json", exclude={"tracking_token"})
    data["tracking_url"] = tracking_url(request, melding.tracking_token)
    return data


async def post_melding(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        draft, files = await parse_request(request, settings.max_text_chars, settings.max_body_bytes)
        if draft.language is None:  # an explicit `language` wins; else as mail and SMS do
            draft = draft.model_copy(update={"language": text_language(draft.text, draft.subject)})
        stored = await request.app[INTAKE].submit(draft, files)
    except IntakeRejected as exc:
        request.app[METRICS].rejected("web", exc.code)
        raise
    if stored.conflict:
        raise IntakeRejected(
            422,
            "idempotency_key_reused",
            f"this Idempotency-Key was used for a different melding ({stored.reference})",
        )
    body = {
        "id": stored.id,
        "reference": stored.reference,
        "tracking_url": tracking_url(request, stored.tracking_token),
    }
    if stored.attachments_failed:  # the melding is kept; the client hears which files are not
        body["attachments_not_stored"] = [
            {"filename": a.filename, "error": a.error} for a in stored.attachments_failed
        ]
    headers = {} if stored.created else {"Idempotent-Replayed": "true"}
    return web.json_response(body, status=202, headers=headers)


async def get_melding(request: web.Request) -> web.Response:
    if refusal := read_token_refusal(request, request.app[SETTINGS].api_read_token):
        return refusal
    melding = await request.app[STORE].read(meldingen.get, request.match_info["id"])
    if melding is None:
        return error_body(404, "not_found", "no melding with this id")
    data = melding_json(request, melding)
    # Open problems this melding may report, below the automatic threshold: for the desk to decide.
    data["duplicate_suggestions"] = await request.app[STORE].read(duplicates_store.suggestions_of, melding.id)
    if media := await request.app[STORE].read(media_store.media_of, melding.id):
        # What became of each MMS photo: the desk sees one that could not be fetched, and why.
        data["mms_media"] = [
            {
                "message_sid": m.message_sid,
                "position": m.position,
                "content_type": m.content_type,
                "state": m.state,
                "attempts": m.attempts,
                "error": m.error,
                "sha256": m.sha256,
            }
            for m in media
        ]
    return web.json_response(data)


async def list_meldingen(request: web.Request) -> web.Response:
    if refusal := read_token_refusal(request, request.app[SETTINGS].api_read_token):
        return refusal
    stage_arg = request.query.get("stage")
    try:
        stage = Stage(stage_arg) if stage_arg else None
        limit = min(int(request.query.get("limit", "100")), 1000)
        if limit < 1:
            raise ValueError(limit)
    except ValueError:
        return error_body(
            400,
            "invalid_query",
            f"stage must be one of {[s.value for s in Stage]}, limit a number from 1 (1000 at most)",
        )
    found = await request.app[STORE].read(meldingen.list_meldingen, stage=stage, limit=limit)
    return web.json_response({"meldingen": [melding_json(request, m) for m in found]})


class StatusCallback(CleanInput):
    model_config = ConfigDict(extra="forbid")
    status: Status
    note: str | None = None
    planned_date: date | None = None
    external_partner: str | None = None


async def post_status(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    raw = await signed_body(request, settings.case_system_secret, "status callback")
    try:
        callback = StatusCallback.model_validate(json_object(raw, "invalid_status"))
    except ValidationError as exc:
        raise invalid(exc, "invalid_status") from None
    if callback.status == Status.ONTVANGEN:
        return error_body(422, "invalid_status", "status: ontvangen is set by the gateway only")
    store = request.app[STORE]
    melding = await store.read(meldingen.by_reference, request.match_info["reference"])
    if melding is None:
        return error_body(404, "not_found", "no melding with this reference")
    if melding.duplicate_of is None and not melding.has_case:
        # A status for a case never handed over (in triage, not yet delivered) would close a
        # melding the case system is only told of later. A duplicate follows its master's case.
        return error_body(
            409,
            "not_delivered",
            f"melding {melding.reference} has not been handed to the case system (stage "
            f"{melding.stage.value}); a status can only follow its melding.created",
        )
    change = StatusUpdate(
        callback.status,
        source="case_system",
        note=callback.note,
        planned_date=callback.planned_date,
        external_partner=callback.external_partner,
    )
    try:
        # the same step as a polled case system's changes (workers/case_status.py)
        history_id = await apply_case_status(
            store, request.app[REDIS], settings.queue_name, melding=melding, change=change
        )
    except InvalidTransition as exc:
        return error_body(409, "invalid_transition", str(exc))
    if history_id is not None:
        log.info("status changed to %s", callback.status, extra={"reference": melding.reference})
    return web.json_response(
        {
            "reference": melding.reference,
            # unchanged (a replay, a duplicate's own case): what the melding says now
            "status": (callback.status if history_id is not None else melding.status).value,
            "changed": history_id is not None,
        }
    )


async def healthz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        await request.app[STORE].ping()
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"error: {exc.__class__.__name__}"
    workers: int | None = None  # unknown while Redis is
    try:
        await request.app[REDIS].ping()
        checks["redis"] = "ok"
        # Workers beating (gateway.queue.Worker): informative, not part of this process's health,
        # as a `serve` without workers still takes meldingen in; alert on 0 where workers should run.
        settings = request.app[SETTINGS]
        workers = await live_workers(request.app[REDIS], settings.queue_name, settings.worker_heartbeat_ttl)
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", **checks, "workers": workers},
        status=200 if healthy else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    try:
        await m.refresh(request.app[STORE], request.app[REDIS], request.app[SETTINGS])
    except Exception as exc:  # still serve what this process knows
        log.warning("metrics refresh incomplete: %s", exc)
    return web.Response(
        body=m.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )
