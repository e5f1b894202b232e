"""The desk's duplicates (README "Desk workplace", Duplicates): the pairs the duplicate finder was
not sure of, side by side, to confirm (one case with N reporters, as the worker's automatic link)
or reject (never offered again); and splitting a link from the melding's page. Every decision is a
POST (CSRF-checked by the guard), recorded under the operator's name (desk_actions), answered with
a 303 (post/redirect/get)."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.dedupe import DuplicateMatch
from gateway.dedupe.service import reporter_payload
from gateway.handling import error_body
from gateway.http.desk_pages.paging import paging
from gateway.http.desk_pages.views import OPERATOR, desk_context, melding_of, set_flash
from gateway.http.tracking_model import photos
from gateway.queue import enqueue_deliveries
from gateway.store import desk, desk_duplicates

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # pairs on a page; the newest first
_REFUSED = {
    "gone": "Deze suggestie bestaat niet meer (al beslist?); niets veranderd.",
    "already_linked": "Deze melding is al gekoppeld; niets veranderd.",
    "is_master": "Deze melding heeft zelf gekoppelde melders: koppel die eerst los.",
    "not_settled": "Een levering naar het zaaksysteem loopt nog; probeer het zo meteen opnieuw.",
    "not_linked": "Deze melding is niet gekoppeld; niets veranderd.",
}


async def duplicates_page(request: web.Request) -> web.Response:
    at = paging(request, PAGE_SIZE)
    pairs, total = await request.config_dict[STORE].read(desk_duplicates.pairs, at.offset, at.size)
    context = await desk_context(request, pairs=pairs, photos=photos, **at.context(total))
    return aiohttp_jinja2.render_template("duplicates.html", request, context)


async def _candidate(request: web.Request) -> str | None:
    candidate = str((await request.post()).get("candidate", ""))
    return candidate if 0 < len(candidate) <= 36 else None


def _no_candidate() -> web.Response:
    return error_body(422, "invalid_candidate", "candidate: the suggested melding's id", field="candidate")


async def confirm(request: web.Request) -> web.Response:
    melding = await melding_of(request)
    candidate = await _candidate(request)
    if candidate is None:
        return _no_candidate()
    source = desk.by_operator(request[OPERATOR].name)
    store = request.config_dict[STORE]
    found = await store.read(desk_duplicates.suggestion, melding.id, candidate)
    match = DuplicateMatch(
        candidate, float(found.score) if found else 0.0, (found.reason if found else "") or ""
    )
    decision = desk_duplicates.Confirm(
        melding.id, candidate, source, reporter_payload(melding, melding.located or {}, match)
    )
    done = await store.write(desk_duplicates.confirm, decision)
    await _after(
        request, melding.reference, done, f"{melding.reference} gekoppeld aan {done.other_reference}."
    )
    raise web.HTTPSeeOther("/desk/duplicates")


async def reject(request: web.Request) -> web.Response:
    melding = await melding_of(request)
    candidate = await _candidate(request)
    if candidate is None:
        return _no_candidate()
    source = desk.by_operator(request[OPERATOR].name)
    done = await request.config_dict[STORE].write(desk_duplicates.reject, melding.id, candidate, source)
    message = f"{melding.reference} is geen melding van {done.other_reference}; niet meer voorgesteld."
    await _after(request, melding.reference, done, message)
    raise web.HTTPSeeOther("/desk/duplicates")


async def split(request: web.Request) -> web.Response:
    melding = await melding_of(request)
    source = desk.by_operator(request[OPERATOR].name)
    done = await request.config_dict[STORE].write(desk_duplicates.split, melding.id, source)
    message = f"{melding.reference} losgekoppeld van {done.other_reference}: een eigen melding."
    await _after(request, melding.reference, done, message)
    raise web.HTTPSeeOther(f"/desk/meldingen/{melding.id}")


async def _after(request: web.Request, reference: str, done: desk_duplicates.Decided, message: str) -> None:
    """Enqueue what the decision owes the case system, log it, and say what happened."""
    if done.to_send:
        settings = request.config_dict[SETTINGS]
        await enqueue_deliveries(request.config_dict[REDIS], settings.queue_name, list(done.to_send))
    log.info(
        "desk duplicate decision: %s",
        done.outcome,
        extra={"reference": reference, "operator": request[OPERATOR].name, "other": done.other_reference},
    )
    await set_flash(request, _REFUSED.get(done.outcome, message))
