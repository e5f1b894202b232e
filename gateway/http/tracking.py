"""`/t/{token}`: the reporter's track & trace page (Dutch), reachable only by the unguessable token.

The page is gateway/http/templates/tracking.html, its texts the Dutch catalogue (gateway.texts);
this view only looks the melding up and formats its dates.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from gateway.appkeys import SETTINGS, STORE
from gateway.store import meldingen

PAGE_LANGUAGE = "nl"
EXCERPT_CHARS = 300


async def tracking_page(request: web.Request) -> web.Response:
    melding = await request.app[STORE].read(meldingen.by_token, request.match_info["token"])
    if melding is None:
        return _page(request, "not_found.html", {}, status=404)
    tz = ZoneInfo(request.app[SETTINGS].timezone)
    history = [
        {
            "when": change.at.astimezone(tz).strftime("%d/%m/%Y %H:%M"),
            "status": change.status,
            "note": change.note,
            "planned": change.planned_date.strftime("%d/%m/%Y") if change.planned_date else None,
        }
        for change in melding.status_history
    ]
    text = melding.text
    excerpt = text if len(text) < EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."
    context = {
        "reference": melding.reference,
        "status": melding.status,
        "excerpt": excerpt,
        "history": history,
        "email": request.app[SETTINGS].email_address,
    }
    return _page(request, "tracking.html", context)


def _page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, {"lang": PAGE_LANGUAGE, **context}, status=status
    )
    # The token is in the URL: no Referer may carry it to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
