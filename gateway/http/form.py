"""The citizen's web form: `GET /` shows it, `POST /` takes it in, `/bedankt/{token}` thanks.

The thank-you page shows what was typed (text, e-mail, phone, the way to hear from us) only to the
browser that sent it, for an hour (an HttpOnly cookie set with the 303); anyone else with the token
gets the thanks, reference and tracking link: the token is the tracking page's, in every mail.

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
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from gateway import clock
from gateway.appkeys import INTAKE, METRICS, REDIS, SETTINGS
from gateway.channels.web.form import (
    HONEYPOT,
    MAX_LENGTHS,
    FieldError,
    FormInput,
    FormLimits,
    check_photos,
    photo_limits,
    posted_language,
    read_form,
    to_draft,
)
from gateway.config import Settings
from gateway.handling import error_body
from gateway.http.ratelimit import Guessing, melding_by_token, over_limit, resets_in
from gateway.intake import IntakeRejected
from gateway.phonenumber import readable
from gateway.queue import REDIS_DOWN, THANKS_KEY
from gateway.store import StoreUnavailable
from gateway.texts import LANGUAGES, accepted_language, language, text

log = logging.getLogger(__name__)

# The element an error in the summary leads to (its field's id; a radio group's first button).
_ANCHORS = {"form": "melding-form", "feedback": "feedback-email"}


@dataclass(frozen=True)
class MapView:
    """Where the form's map opens; None when the register has no coordinates (no map then)."""

    center: tuple[float, float] | None


MAP_VIEW = web.AppKey("form_map", MapView)

THANKS_COOKIE = "gateway-thanks"
THANKS_SECONDS = 3600  # to read, print or reload the page; not for the next user of a shared computer


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
        "max_lengths": MAX_LENGTHS,  # the inputs' maxlength: what the server takes, no more
        "max_text_chars": settings.max_text_chars,
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


async def _rate_limited(request: web.Request) -> web.Response:
    """429: a friendly page in the form's language (its `lang`, else the browser's), the API's JSON
    error for a script; Retry-After when the counter really starts again (the clock hour)."""
    settings = request.app[SETTINGS]
    retry_after = resets_in()
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        message = f"at most {settings.form_rate_limit} forms an hour from one address; try again later"
        response = error_body(429, "rate_limited", message)
    else:
        again = clock.now() + timedelta(seconds=retry_after)
        context = {
            "lang": await posted_language(request) or page_language(request),
            "limit": settings.form_rate_limit,
            "time": again.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M"),
            "desk_email": settings.email_address,
        }
        response = _render(request, "form_limited.html", context, status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


async def post_form(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if await over_limit(request, "form", settings.form_rate_limit):
        return await _rate_limited(request)
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
        log.info("web form photos refused by the intake: %s", exc.code)
        return _refused(request, form, [FieldError("photos", "photos_refused")])
    except StoreUnavailable as exc:
        log.warning("web form: store unavailable: %s", exc)
        return _refused(request, form, [FieldError("form", "unavailable")], status=503)
    return await _to_thanks(request, stored.tracking_token)


def _thanks_key(secret: str) -> str:
    return THANKS_KEY + hashlib.sha256(secret.encode()).hexdigest()


async def _to_thanks(request: web.Request, token: str) -> web.Response:
    """The 303 to the thank-you page, with a cookie that lets this browser alone see what it sent:
    the token is in every tracking link and mail, so it cannot vouch for the sender by itself."""
    settings = request.app[SETTINGS]
    path = f"/bedankt/{token}"
    response = web.Response(status=303, headers={"Location": path})
    secret = secrets.token_urlsafe(32)
    try:
        await request.app[REDIS].set(_thanks_key(secret), token, ex=THANKS_SECONDS)
    except REDIS_DOWN as exc:  # the page is still thanks, reference and link; only the details go
        log.warning("thank-you page without details: Redis unavailable: %s", exc.__class__.__name__)
        return response
    response.set_cookie(
        THANKS_COOKIE,
        secret,
        path=path,
        max_age=THANKS_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
    )
    return response


async def _sent_from_here(request: web.Request, token: str) -> bool:
    """Whether this browser sent the token's melding within the hour (its cookie from `_to_thanks`)."""
    secret = request.cookies.get(THANKS_COOKIE)
    if not secret:
        return False
    try:
        stored = await request.app[REDIS].get(_thanks_key(secret))
    except REDIS_DOWN as exc:
        log.warning("thank-you cookie not checked: Redis unavailable: %s", exc.__class__.__name__)
        return False
    return stored == token.encode()  # the cookie of another melding of this browser shows nothing


async def thanks_page(request: web.Request) -> web.Response:
    """The reference and tracking link for anyone with the token (it is in every mail); what the
    citizen typed only for the browser that sent it (the token cannot tell who that is)."""
    found = await melding_by_token(request)  # a miss here counts as one on /t/: one guessing limit
    if isinstance(found, Guessing):
        context = {"lang": page_language(request), "minutes": found.minutes}
        response = _render(request, "rate_limited.html", context, status=429)
        response.headers["Retry-After"] = str(found.retry_after)
        return response
    if found is None:
        return _render(request, "not_found.html", {"lang": page_language(request)}, status=404)
    settings = request.app[SETTINGS]
    token = request.match_info["token"]
    context: dict[str, Any] = {
        "lang": language(request.query.get("lang") or found.language),
        "reference": found.reference,
        "tracking_url": f"{settings.public_url}/t/{token}",
        "tracking_path": f"/t/{token}",
        "desk_email": settings.email_address,
        "mine": await _sent_from_here(request, token),
    }
    if context["mine"]:
        reporter = found.reporter
        context |= {
            "text": found.text,
            "photos": len(found.attachments),
            "email": reporter.email,
            "phone": readable(reporter.phone) if reporter.phone else None,
            "feedback": reporter.feedback,
        }
    response = _render(request, "form_thanks.html", context)
    response.headers["Cache-Control"] = "no-store"  # what the citizen typed: no cache keeps it
    return response
