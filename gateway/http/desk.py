"""`POST /api/v1/meldingen/{id}/dienst`: the 1777 desk routes a melding that waits in triage.

Signed like the status callbacks (GATEWAY_CASE_SYSTEM_SECRET, see gateway.signing): the triage
view sits behind the same trust boundary as the case system. JSON `{"dienst": "<code>"}`. The
melding gets that dienst with routed_by "desk" and moves from stage triage back to received; its
`process` job, enqueued again, compares it with the open meldingen of that dienst (duplicates, as
for any routed melding) and hands it to delivery (gateway.store.desk.route). `gateway train` reads
these decisions back as labelled examples. `{id}` is the melding id (its reference works too).
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.handling import error_body, signed_body
from gateway.melding import DIENST_CODES
from gateway.queue import enqueue_process
from gateway.store import desk, meldingen

log = logging.getLogger(__name__)


class DienstChoice(BaseModel):
    """The desk's decision (also the request body of the OpenAPI description)."""

    model_config = ConfigDict(extra="forbid")
    dienst: Literal[DIENST_CODES] = Field(description="a dienst code of PRODUCT.md")  # type: ignore[valid-type]


async def post_dienst(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    key = request.match_info["id"]
    raw = await signed_body(request, settings.case_system_secret, "desk decision")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return error_body(400, "malformed_json", f"request body is not valid JSON: {exc}")
    except RecursionError:
        return error_body(400, "malformed_json", "request body is nested too deeply")
    if not isinstance(body, dict) or set(body) != {"dienst"}:
        return error_body(422, "invalid_body", 'expected exactly {"dienst": "<code>"}', field="dienst")
    try:
        dienst = DienstChoice.model_validate(body).dienst
    except ValidationError:
        return error_body(
            422,
            "unknown_dienst",
            f"dienst must be one of {', '.join(DIENST_CODES)}, got {body['dienst']!r}",
            field="dienst",
        )
    store = request.app[STORE]
    melding = await store.read(meldingen.by_id_or_reference, key)
    if melding is None:
        return error_body(404, "not_found", "no melding with this id")
    outcome, stage = await store.write(desk.route, melding.id, dienst)
    if outcome == "not_in_triage":
        return error_body(
            409,
            "not_in_triage",
            f"the melding is in stage {stage}, not triage: only the desk's queue is routed here",
        )
    if outcome == "missing":
        return error_body(404, "not_found", "no melding with this id")
    if outcome == "routed":
        await enqueue_process(request.app[REDIS], settings.queue_name, melding.id)
        log.info("desk routed it to %s", dienst, extra={"reference": melding.reference, "dienst": dienst})
    return web.json_response(
        {
            "id": melding.id,
            "reference": melding.reference,
            "dienst": dienst,
            "stage": stage,
            "changed": outcome == "routed",
        }
    )
