"""`PUT /api/v1/meldingen/{id}/national-register-number`: the 1777 desk links a melding to a
citizen (a caller who gave their national register number), so that its statuses reach the
citizen's portal (GATEWAY_STATUS_FEEDS): its current status at once, then every change.

Signed like the desk's routing decisions (GATEWAY_CASE_SYSTEM_SECRET). JSON
`{"national_register_number": "85.07.30-033.28"}` (any formatting; null unlinks). The answer
shows only the last two digits: the number itself never leaves the store but to the portal.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.handling import error_body, signed_body
from gateway.national_number import InvalidNationalNumber, NationalRegisterNumber
from gateway.queue import enqueue_push
from gateway.store import meldingen, pushes

log = logging.getLogger(__name__)
FIELD = "national_register_number"


class NationalRegisterNumberIn(BaseModel):
    """The request body (also in the OpenAPI description); the number's checksum is checked after."""

    model_config = ConfigDict(extra="forbid")
    national_register_number: str | None = Field(
        description="11 digits in any formatting (85.07.30-033.28); null unlinks"
    )


async def put_national_register_number(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    key = request.match_info["id"]
    raw = await signed_body(request, settings.case_system_secret, "national register number")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return error_body(400, "malformed_json", "request body is not valid JSON")
    if not isinstance(body, dict) or set(body) != {FIELD}:
        return error_body(422, "invalid_body", f'expected exactly {{"{FIELD}": "..." or null}}', field=FIELD)
    try:
        value = NationalRegisterNumberIn.model_validate(body).national_register_number
    except ValidationError:
        return error_body(422, "invalid_national_register_number", "a string of 11 digits", field=FIELD)
    number: NationalRegisterNumber | None = None
    if value is not None:
        try:
            number = NationalRegisterNumber.parse(value)
        except InvalidNationalNumber as exc:
            return error_body(422, "invalid_national_register_number", str(exc), field=FIELD)
    store = request.app[STORE]
    melding = await store.read(meldingen.by_id_or_reference, key)
    if melding is None:
        return error_body(404, "not_found", "no melding with this id")
    digits = number.digits if number else None
    queued = await store.write(pushes.set_national_register_number, melding.id, digits, settings.status_feeds)
    if queued is None:
        return error_body(409, "anonymised", "the melding's personal data was removed (retention)")
    for push in queued:  # its current status, at once (a lost job: the sweep queues it)
        await enqueue_push(request.app[REDIS], settings.queue_name, push.job_id, push.id)
    log.info(
        "national register number %s", "set" if number else "removed", extra={"reference": melding.reference}
    )
    return web.json_response(
        {
            "id": melding.id,
            "reference": melding.reference,
            "linked": number is not None,
            FIELD: number.masked() if number else None,
        }
    )
