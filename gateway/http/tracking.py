"""`/t/{token}`: the reporter's track & trace page, its JSON twin `/t/{token}.json` and the photos'
thumbnails `/t/{token}/photos/{n}`, reachable only by the unguessable token.

What is shown is gateway/http/tracking_model.py's (the page renders the JSON's data); the page is
templates/tracking.html in Dutch, French or English (`?lang=`, else the melding's language, else
Accept-Language, else Dutch). An unknown token gets the same 404 whatever it was, and a client
that keeps missing is answered 429 for a while (a Redis counter per IP address, only misses count,
shared with the thank-you page: gateway/http/ratelimit.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from gateway import texts
from gateway.appkeys import SETTINGS
from gateway.attachments import AttachmentStore
from gateway.handling import error_body
from gateway.http import tracking_model
from gateway.http.ratelimit import Guessing, melding_by_token
from gateway.http.thumbnails import UNREADABLE, thumbnail
from gateway.http.tracking_map import street_at, street_map
from gateway.melding import Melding

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
NONE = "'none'"
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


async def tracking_page(request: web.Request) -> web.StreamResponse:
    # "/t/a.b.json" is no JSON twin's route (a page token never holds a dot) but asks for JSON: its
    # 404 (or 429) is JSON too.
    melding = await _melding(request, json=request.match_info["token"].endswith(".json"))
    if isinstance(melding, web.StreamResponse):
        return melding
    lang = page_language(request, melding)
    data = _public(request, melding, lang)
    settings = request.app[SETTINGS]
    where = data["place"] or {}
    context = {
        "data": data,
        "tz": ZoneInfo(settings.timezone),
        "local": tracking_model.local,
        "map": street_map(settings.street_register_file, settings.dedupe_file, where["lat"], where["lon"])
        if where.get("lat") is not None and where.get("lon") is not None
        else None,
        "languages": LANGUAGE_NAMES,
        "email": settings.email_address,
    }
    return _page(request, "tracking.html", lang, context)


async def tracking_json(request: web.Request) -> web.StreamResponse:
    melding = await _melding(request, json=True)
    if isinstance(melding, web.StreamResponse):
        return melding
    lang = page_language(request, melding)
    response = web.json_response(_public(request, melding, lang))
    # A citizen portal on another origin may read it: it holds nothing personal, and only who
    # already has the token can ask for it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _secured(response)


async def tracking_photo(request: web.Request) -> web.StreamResponse:
    melding = await _melding(request, json=True)
    if isinstance(melding, web.StreamResponse):
        return melding
    files = tracking_model.photos(melding)
    n = request.match_info["n"]
    if not n.isdigit() or not 1 <= int(n) <= len(files):
        return _secured(error_body(404, "not_found", "no such photo"))
    path = AttachmentStore(request.app[SETTINGS].attachments_dir).path_for(files[int(n) - 1].sha256)
    try:
        jpeg = await asyncio.to_thread(thumbnail, path)
    except UNREADABLE as exc:  # removed by retention, or unreadable
        log.info("tracking photo unavailable: %s", type(exc).__name__, extra={"reference": melding.reference})
        return _secured(error_body(404, "not_found", "no such photo"))
    response = web.Response(body=jpeg, content_type="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return _secured(response)


def page_language(request: web.Request, melding: Melding | None) -> texts.Language:
    """`?lang=`, else the melding's language, else the browser's Accept-Language, else Dutch."""
    asked = request.query.get("lang")
    if asked in texts.LANGUAGES:
        return texts.language(asked)
    if melding is not None and melding.language in texts.LANGUAGES:
        return texts.language(melding.language)
    return texts.accepted_language(request.headers.get("Accept-Language", ""))


async def _melding(request: web.Request, *, json: bool = False) -> Melding | web.StreamResponse:
    """The token's melding, or the answer for a client that guesses: 429 over the limit, else 404."""
    found = await melding_by_token(request)
    if isinstance(found, Guessing):
        return _too_many(request, json, found)
    if found is not None:
        return found
    if json:
        return _secured(error_body(404, "not_found", "no tracking page for this link"))
    return _page(request, "not_found.html", page_language(request, None), {}, status=404)


def _too_many(request: web.Request, json: bool, guessing: Guessing) -> web.StreamResponse:
    if json:
        response = _secured(
            error_body(429, "too_many_requests", "too many unknown tracking links; try again later")
        )
    else:
        lang = page_language(request, None)
        response = _page(request, "rate_limited.html", lang, {"minutes": guessing.minutes}, status=429)
    response.headers["Retry-After"] = str(guessing.retry_after)
    return response


def _public(request: web.Request, melding: Melding, lang: str) -> dict[str, Any]:
    """The tracking data; a place known only by its pin gets the street there from the register."""
    data = tracking_model.public_json(melding, lang, f"/t/{melding.tracking_token}/photos/")
    where = data["place"]
    if where and where["street"] is None and where["lat"] is not None and where["lon"] is not None:
        settings = request.app[SETTINGS]
        where["street"] = street_at(
            settings.street_register_file, settings.dedupe_file, where["lat"], where["lon"]
        )
    return data


def _page(
    request: web.Request, template: str, lang: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, {"lang": lang, **context}, status=status)
    # The page's own <style> is allowed by its hash: no inline script or other style can run.
    styles = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        for css in _STYLE.findall(response.text or "")
    )
    return _secured(response, styles)


def _secured(response: web.Response, styles: str = "") -> web.Response:
    # The token is in the URL: no Referer may carry it to another site, no other site may frame it.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; img-src 'self'; style-src {styles or NONE};"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return response
