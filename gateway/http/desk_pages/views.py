"""The desk's pages: the triage queue, one melding (answer it, ask the reporter), the waiting list.

Every action is a POST form (CSRF-checked by the guard) answered with a 303 to the next page
(post/redirect/get: a reload never routes or answers twice), and is recorded under the operator's
name: routed_by "desk:<name>" for a routing, status_history.source "desk:<name>" for an answer or a
question. Answer and question take the same path as a status the case system sets
(gateway.intake.apply_status): the history, the reporter's notification by their channel (mail, SMS),
and the melding's duplicates.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from gateway import texts
from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.handling import error_body
from gateway.http.desk_pages import directory_views, melding_details
from gateway.http.desk_pages.auth import OPERATOR, csrf_token
from gateway.http.desk_pages.charts import dienst_label
from gateway.http.desk_pages.paging import paging
from gateway.intake import apply_status
from gateway.melding import DIENST_CODES, Melding, Stage, Status, StatusUpdate
from gateway.queue import enqueue_process
from gateway.store import InvalidTransition, desk, meldingen

log = logging.getLogger(__name__)

PAGE_SIZE = 25
WAITING_PAGE = 50  # the waiting list, a page at a time (the longest waiting first)
MAX_NOTE = 4000  # characters of an answer or a question


async def desk_context(request: web.Request, **values: Any) -> dict[str, Any]:
    """What every desk page shows: the operator, the CSRF token for its forms, a message left by
    the action before (shown once)."""
    session = await get_session(request)
    flash = session.pop("flash", None)
    return {"operator": request[OPERATOR], "csrf": csrf_token(session), "flash": flash, **values}


async def set_flash(request: web.Request, message: str) -> None:
    (await get_session(request))["flash"] = message


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/desk/triage")


async def triage_page(request: web.Request) -> web.Response:
    at = paging(request, PAGE_SIZE)
    items, total = await request.config_dict[STORE].read(desk.triage, at.offset, at.size)
    context = await desk_context(request, items=items, diensten=DIENST_CODES, **at.context(total))
    return aiohttp_jinja2.render_template("triage.html", request, context)


async def route(request: web.Request) -> web.Response:
    form = await request.post()
    dienst = form.get("dienst")
    if not dienst:  # "Andere dienst" has no default: an unpicked list must not route
        await set_flash(request, "Kies eerst een dienst; niets veranderd.")
        raise web.HTTPSeeOther("/desk/triage")
    if dienst not in DIENST_CODES:
        return error_body(422, "unknown_dienst", f"dienst must be one of {', '.join(DIENST_CODES)}")
    melding = await melding_of(request)
    operator = request[OPERATOR]
    store, settings = request.config_dict[STORE], request.config_dict[SETTINGS]
    outcome, stage = await store.write(
        desk.route, melding.id, str(dienst), routed_by=desk.by_operator(operator.name)
    )
    if outcome == "routed":
        await enqueue_process(request.config_dict[REDIS], settings.queue_name, melding.id)
        log.info(
            "desk routed it to %s",
            dienst,
            extra={"reference": melding.reference, "dienst": dienst, "operator": operator.name},
        )
        await set_flash(request, f"{melding.reference} doorgestuurd naar {dienst_label(str(dienst))}.")
    elif outcome == "not_in_triage":
        message = f"{melding.reference} wacht niet meer in triage (nu: {stage}); niets veranderd."
        await set_flash(request, message)
    raise web.HTTPSeeOther("/desk/triage")  # the next one: the oldest still waiting


def refused_transition(exc: InvalidTransition) -> str:
    """A stale page's status choice, said in Dutch with the statuses' labels (not the store's English)."""
    now, wanted = texts.status_label(exc.current, "nl"), texts.status_label(exc.new, "nl")
    return f"Niet mogelijk: de status kan niet van {now} naar {wanted}; niets veranderd."


async def melding_page(request: web.Request) -> web.Response:
    read = await melding_details.page_read(request)  # one read transaction for all of it
    melding, more = read.melding, melding_details.details(request, read)
    directory = await directory_views.who(request, melding, read.national_number)  # lookups logged
    context = await desk_context(request, melding=melding, max_note=MAX_NOTE, directory=directory, **more)
    return aiohttp_jinja2.render_template("melding.html", request, context)


async def answer(request: web.Request) -> web.Response:
    """Beantwoord: the answer goes to the reporter as the status note; a melding not yet routed
    leaves the triage queue (nothing to deliver: the desk settled it)."""
    return await _status(request, Status.BEANTWOORD, "Antwoord verstuurd.")


async def ask(request: web.Request) -> web.Response:
    """Wachten op antwoord: the question goes to the reporter; their reply threads back onto the
    melding (mail reply, SMS) and moves it to In behandeling."""
    return await _status(request, Status.WACHTEN_OP_ANTWOORD, "Vraag verstuurd.")


async def _status(request: web.Request, status: Status, done: str) -> web.Response:
    melding = await melding_of(request)
    note = str((await request.post()).get("text", "")).strip()
    if not note or len(note) > MAX_NOTE:
        return error_body(422, "invalid_text", f"text: 1 to {MAX_NOTE} characters", field="text")
    operator = request[OPERATOR]
    store, settings = request.config_dict[STORE], request.config_dict[SETTINGS]
    change = StatusUpdate(status, source=desk.by_operator(operator.name), note=note)
    try:
        history_id = await apply_status(
            store, request.config_dict[REDIS], settings.queue_name, melding_id=melding.id, change=change
        )
    except InvalidTransition as exc:
        await set_flash(request, refused_transition(exc))
        raise web.HTTPSeeOther(f"/desk/meldingen/{melding.id}") from None
    if status == Status.BEANTWOORD and melding.stage in (Stage.RECEIVED, Stage.TRIAGE):
        await store.write(desk.close_at_desk, melding.id)
    log.info(
        "desk set status %s",
        status.value,
        extra={"reference": melding.reference, "operator": operator.name, "changed": history_id is not None},
    )
    unchanged = "De melding had die status al; niets verstuurd."
    await set_flash(request, done if history_id is not None else unchanged)
    raise web.HTTPSeeOther(f"/desk/meldingen/{melding.id}")


async def waiting_page(request: web.Request) -> web.Response:
    at = paging(request, WAITING_PAGE)
    items, total = await request.config_dict[STORE].read(desk.waiting, at.offset, at.size)
    context = await desk_context(request, items=items, **at.context(total))
    return aiohttp_jinja2.render_template("waiting.html", request, context)


async def melding_of(request: web.Request) -> Melding:
    key = request.match_info["id"]
    store = request.config_dict[STORE]
    melding = await store.read(meldingen.by_id_or_reference, key)
    if melding is None:
        raise web.HTTPNotFound(text="no melding with this id")
    return melding
