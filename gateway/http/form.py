"""The citizen's web form: `GET /` shows it, `POST /` takes it in, `/bedankt/{token}` thanks.

Progressive: a plain multipart POST and a 303 to the thank-you page work without JavaScript; form.js
adds address suggestions, a map pin and a photo check before sending. The form goes through the same
intake as the API (gateway/channels/web/form.py builds the API's own model, channel `web`).

Refusals re-render the form (422) with every error tied to its field and the values kept; files
cannot be put back into a file input, so a refused photo's message asks to choose the photos again.
The honeypot (a field hidden from people) is answered with a clear refusal, never a fake success: a
person whose browser filled it in by mistake learns why and can send again; the reason is logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from gateway.appkeys import INTAKE, METRICS, SETTINGS, STORE
from gateway.channels.web.form import (
    HONEYPOT,
    FieldError,
    FormInput,
    FormLimits,
    check_photos,
    photo_limits,
    read_form,
    to_draft,
)
from gateway.config import Settings
from gateway.handling import error_body
from gateway.http.ratelimit import WINDOW, over_limit
from gateway.intake import IntakeRejected
from gateway.phonenumber import readable
from gateway.store import StoreUnavailable, meldingen
from gateway.texts import LANGUAGES, accepted_language, language, text

log = logging.getLogger(__name__)

# The element an error in the summary leads to (its field's id; a radio group's first button).
_ANCHORS = {"form": "melding-form", "feedback": "feedback-email"}


@dataclass(frozen=True)
class MapView:
    """Where the form's map opens; None when the register has no coordinates (no map then)."""

    center: tuple[float, float] | None


MAP_VIEW = web.AppKey("form_map", MapView)


def page_language(request: web.Request) -> str:
    """The switcher's `?lang=`, else the best of Accept-Language, else Dutch."""
    if (chosen := request.query.get("lang")) in LANGUAGES:
        return chosen  # type: ignore[return-value]
    return accepted_language(request.headers.get("Accept-Language", ""))


def limits(settings: Settings) -> FormLimits:
    return FormLimits(
        max_text_chars=settings.max_text_chars,
        max_body_bytes=settings.max_body_bytes,
        max_attachments=settings.max_attachments,
        max_attachment_bytes=settings.max_attachment_bytes,
    )


def _security_headers(response: web.StreamResponse, settings: Settings) -> web.StreamResponse:
    # Scripts from the gateway only (form.js, Leaflet): what a report holds can never run. Inline
    # styles stay allowed (the layout's <style>, Leaflet's positioning).
    tiles = urlsplit(settings.map_tile_url.replace("{s}", "*"))
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.netloc else ""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:{tile_origin}; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the thank-you page's URL holds the token
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    _security_headers(response, settings)
    return response


def _form_context(
    request: web.Request, lang: str, form: FormInput | None, errors: list[FieldError]
) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    values = dict(form.values) if form else {}
    values.pop(HONEYPOT, None)  # sent back empty: a person's resubmission then passes
    shown = [
        {
            "anchor": _ANCHORS.get(e.field, e.field),
            "message": text(f"form.error.{e.key}", lang, **e.variables),
        }
        for e in errors
    ]
    by_field: dict[str, list[str]] = {}
    for e, row in zip(errors, shown, strict=True):
        by_field.setdefault(e.field, []).append(row["message"])
    center = request.app[MAP_VIEW].center
    return {
        "lang": lang,
        "values": values,
        "errors": shown,
        "by_field": by_field,
        "submission": secrets.token_hex(16),  # a fresh key per rendering: see to_draft
        "feedback": values.get("feedback", ""),  # none checked: e-mail when one is given
        "map": {
            "tiles": settings.map_tile_url if center else "",
            "attribution": settings.map_attribution,
            "lat": center[0] if center else "",
            "lon": center[1] if center else "",
        },
        "accept": ",".join(settings.attachment_types),
        **photo_limits(settings),
        "max_bytes": settings.max_attachment_bytes,
        "max_files": settings.max_attachments,
        "retention_days": settings.retention_days,
        "languages": LANGUAGES,
    }


async def form_page(request: web.Request) -> web.Response:
    lang = page_language(request)
    return _render(request, "form.html", _form_context(request, lang, None, []))


def _refused(
    request: web.Request, form: FormInput, errors: list[FieldError], status: int = 422
) -> web.Response:
    context = _form_context(request, form.language, form, errors)
    return _render(request, "form.html", context, status=status)


def _rate_limited(request: web.Request) -> web.Response:
    """429: a friendly page in the browser's language, the API's JSON error for a script."""
    settings = request.app[SETTINGS]
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        message = f"at most {settings.form_rate_limit} forms an hour from one address; try again later"
        response = error_body(429, "rate_limited", message)
    else:
        context = {
            "lang": page_language(request),
            "limit": settings.form_rate_limit,
            "desk_email": settings.email_address,
        }
        response = _render(request, "form_limited.html", context, status=429)
    response.headers["Retry-After"] = str(WINDOW)
    return response


async def post_form(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if await over_limit(request, "form", settings.form_rate_limit):
        return _rate_limited(request)
    form = await read_form(request, limits(settings))
    if form.honeypot_filled:
        log.info("web form refused: the honeypot field was filled in", extra={"path": request.path})
        request.app[METRICS].rejected("web", "honeypot")
        return _refused(request, form, [FieldError("form", "honeypot")])
    draft, errors = to_draft(form, limits(settings))
    intake = request.app[INTAKE]
    if form.files:  # each kept photo through the intake's checks, so every refused one is named
        errors += await asyncio.to_thread(check_photos, intake, form.files, limits(settings))
    if form.errors or errors or draft is None:
        request.app[METRICS].rejected("web", "form_invalid")
        return _refused(request, form, form.errors + errors)
    try:
        stored = await intake.submit(draft, form.files)
        if stored.conflict:  # the key of an earlier rendering, other content: a melding of its own
            stored = await intake.submit(draft.model_copy(update={"external_id": None}), form.files)
    except IntakeRejected as exc:  # what check_photos let through cannot be refused here; kept safe
        return _refused(request, form, [FieldError("photos", "invalid", {"reason": exc.message})])
    except StoreUnavailable as exc:
        log.warning("web form: store unavailable: %s", exc)
        return _refused(request, form, [FieldError("form", "unavailable")], status=503)
    raise web.HTTPSeeOther(f"/bedankt/{stored.tracking_token}")


async def thanks_page(request: web.Request) -> web.Response:
    melding = await request.app[STORE].read(meldingen.by_token, request.match_info["token"])
    lang = language(request.query.get("lang") or (melding.language if melding else None))
    if melding is None:
        return _render(request, "not_found.html", {"lang": lang}, status=404)
    settings = request.app[SETTINGS]
    context = {
        "lang": lang,
        "reference": melding.reference,
        "tracking_url": f"{settings.public_url}/t/{request.match_info['token']}",
        "tracking_path": f"/t/{request.match_info['token']}",
        "text": melding.text,
        "photos": len(melding.attachments),
        "email": melding.reporter.email,
        "phone": readable(melding.reporter.phone) if melding.reporter.phone else None,
        "feedback": melding.reporter.feedback,
        "desk_email": settings.email_address,
    }
    return _render(request, "form_thanks.html", context)
