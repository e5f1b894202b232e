"""The desk's actions on one melding's page (README "Desk workplace", A melding's page): split a
duplicate link, resend a dead delivery, another dienst, another status (only what the transition
table allows), and the dossier PDF (gateway/dossier.py) for operators. The page itself is
`views.melding_page` with `melding_details.details`. POSTs are CSRF-checked by the guard, recorded
under the operator's name and answered with a 303 back to the page."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from aiohttp import web

from gateway import clock
from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.handling import error_body
from gateway.http.desk_pages import duplicates
from gateway.http.desk_pages.charts import dienst_label
from gateway.http.desk_pages.views import MAX_NOTE, OPERATOR, melding_of, refused_transition, set_flash
from gateway.intake import apply_status
from gateway.melding import DIENST_CODES, TRANSITIONS, Stage, Status, StatusUpdate
from gateway.queue import enqueue_deliveries, enqueue_process
from gateway.store import InvalidTransition, desk, desk_melding
from gateway.store.dossier import gather

log = logging.getLogger(__name__)


def add_routes(r: web.UrlDispatcher, key: str) -> None:
    base = f"/meldingen/{{id:{key}}}"
    r.add_post(f"{base}/split", duplicates.split)
    r.add_post(f"{base}/deliveries/{{delivery:[0-9]{{1,12}}}}/resend", resend)
    r.add_post(f"{base}/dienst", reroute)
    r.add_post(f"{base}/status", set_status)
    r.add_get(f"{base}/dossier.pdf", dossier_pdf)


def _back(melding_id: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/desk/meldingen/{melding_id}")


async def resend(request: web.Request) -> web.Response:
    """What `gateway deliveries --retry` does, for this one dead delivery, then enqueued."""
    melding = await melding_of(request)
    source = desk.by_operator(request[OPERATOR].name)
    delivery_id = int(request.match_info["delivery"])
    revived = await request.config_dict[STORE].write(desk_melding.resend, melding.id, delivery_id, source)
    if revived is None:
        await set_flash(request, "Deze levering is niet (meer) mislukt; niets verstuurd.")
        raise _back(melding.id)
    settings = request.config_dict[SETTINGS]
    await enqueue_deliveries(request.config_dict[REDIS], settings.queue_name, [revived])
    log.info("desk resent a dead delivery", extra={"reference": melding.reference, "delivery": delivery_id})
    await set_flash(request, f"Levering {revived.event} opnieuw verstuurd.")
    raise _back(melding.id)


async def reroute(request: web.Request) -> web.Response:
    melding = await melding_of(request)
    dienst = (await request.post()).get("dienst")
    if not dienst:
        await set_flash(request, "Kies eerst een dienst; niets veranderd.")
        raise _back(melding.id)
    if dienst not in DIENST_CODES:
        return error_body(422, "unknown_dienst", f"dienst must be one of {', '.join(DIENST_CODES)}")
    source = desk.by_operator(request[OPERATOR].name)
    store, settings = request.config_dict[STORE], request.config_dict[SETTINGS]
    done = await store.write(desk_melding.reroute, melding.id, str(dienst), source)
    if done.outcome == "routed":  # out of triage: as the triage page's button
        await enqueue_process(request.config_dict[REDIS], settings.queue_name, melding.id)
    elif done.to_send:
        await enqueue_deliveries(request.config_dict[REDIS], settings.queue_name, list(done.to_send))
    messages = {
        "routed": f"Doorgestuurd naar {dienst_label(str(dienst))}.",
        "rerouted": f"Dienst gewijzigd naar {dienst_label(str(dienst))}.",
        "unchanged": "Dat is al de dienst; niets veranderd.",
    }
    log.info("desk reroute: %s", done.outcome, extra={"reference": melding.reference, "dienst": dienst})
    await set_flash(request, messages.get(done.outcome, "Deze melding is nog niet of niet meer te routeren."))
    raise _back(melding.id)


async def set_status(request: web.Request) -> web.Response:
    """A status the transition table allows from the current one (the page offers only those; a
    stale page's choice is refused with a message), taken as a case-system status is
    (gateway.intake.apply_status: history, the reporter's message, the duplicates)."""
    melding = await melding_of(request)
    form = await request.post()
    if not form.get("status"):  # no default: an unpicked list must not answer (close) the melding
        await set_flash(request, "Kies eerst een status; niets veranderd.")
        raise _back(melding.id)
    try:
        status = Status(str(form.get("status", "")))
    except ValueError:
        return error_body(422, "invalid_status", "status: one of the status codes", field="status")
    planned, refused = _planned_date(status, str(form.get("planned_date", "")).strip())
    if refused and status in TRANSITIONS[melding.status]:  # else: the transition's own refusal below
        await set_flash(request, refused)
        raise _back(melding.id)
    note = str(form.get("note", "")).strip() or None
    if note is not None and len(note) > MAX_NOTE:
        return error_body(422, "invalid_note", f"note: at most {MAX_NOTE} characters", field="note")
    source = desk.by_operator(request[OPERATOR].name)
    store, settings = request.config_dict[STORE], request.config_dict[SETTINGS]
    change = StatusUpdate(status, source=source, note=note, planned_date=planned)
    try:
        history_id = await apply_status(
            store, request.config_dict[REDIS], settings.queue_name, melding_id=melding.id, change=change
        )
    except InvalidTransition as exc:
        await set_flash(request, refused_transition(exc))
        raise _back(melding.id) from None
    if status == Status.BEANTWOORD and melding.stage in (Stage.RECEIVED, Stage.TRIAGE):
        await store.write(desk.close_at_desk, melding.id)  # as the answer button: leaves triage
    log.info("desk set status %s", status.value, extra={"reference": melding.reference, "operator": source})
    await set_flash(
        request, "Status gewijzigd." if history_id is not None else "De melding had die status al."
    )
    raise _back(melding.id)


def _planned_date(status: Status, typed: str) -> tuple[date | None, str | None]:
    """The planned date of a Gepland (as a case system's callback carries it: the tracking page,
    Open311 and the dossier show it); required there, refused with any other status. The date, or
    the message why nothing changed."""
    if status != Status.GEPLAND:
        return None, "Een geplande datum hoort enkel bij Gepland; niets veranderd." if typed else None
    try:
        return date.fromisoformat(typed), None
    except ValueError:
        return None, "Gepland vraagt een geplande datum (dd-mm-jjjj); niets veranderd."


async def dossier_pdf(request: web.Request) -> web.StreamResponse:
    from gateway.dossier import render_pdf  # WeasyPrint (pango) only when a dossier is asked

    melding = await melding_of(request)
    settings = request.config_dict[SETTINGS]
    found = await request.config_dict[STORE].read(gather, melding.id)
    if found is None:
        raise web.HTTPNotFound(text="no melding with this id")
    rendered = await asyncio.to_thread(
        render_pdf,
        found,
        attachments_dir=settings.attachments_dir,
        timezone=settings.timezone,
        generated_at=clock.now(),
    )
    log.info("desk dossier", extra={"reference": melding.reference, "operator": request[OPERATOR].name})
    response = web.Response(body=rendered.pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{melding.reference}.pdf"'
    return response
