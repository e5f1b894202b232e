"""`/t/{token}`: the reporter's track & trace page (Dutch), reachable only by the unguessable token."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway.appkeys import SETTINGS, STORE
from gateway.melding import STATUS_LABELS_NL
from gateway.store import meldingen

_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Melding {reference}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}}
.status{{font-size:1.4rem;font-weight:600}} li{{margin:.4rem 0}} time{{color:#555}}</style></head>
<body><h1>Uw melding {reference}</h1>
<p class="status" id="status">{status}</p>
<p>{text}</p>
<h2>Verloop</h2><ol id="history">{history}</ol>
<p>Vragen? Bel gratis 1777 of mail naar {email} met {reference} in het onderwerp.</p>
</body></html>"""


async def tracking_page(request: web.Request) -> web.Response:
    melding = await request.app[STORE].read(meldingen.by_token, request.match_info["token"])
    if melding is None:
        return web.Response(status=404, text="Deze link is niet (meer) geldig.", content_type="text/plain")
    tz = ZoneInfo(request.app[SETTINGS].timezone)
    items = []
    for change in melding.status_history:
        when = change.at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        extra = f" — {escape(change.note)}" if change.note else ""
        if change.planned_date:
            extra += f" (gepland op {change.planned_date.strftime('%d/%m/%Y')})"
        items.append(f"<li><time>{when}</time> {escape(STATUS_LABELS_NL[change.status])}{extra}</li>")
    excerpt = melding.text if len(melding.text) < 300 else melding.text[:297] + "..."
    html = _PAGE.format(
        reference=escape(melding.reference),
        status=escape(STATUS_LABELS_NL[melding.status]),
        text=escape(excerpt),
        history="".join(items),
        email=escape(request.app[SETTINGS].email_address),
    )
    return web.Response(text=html, content_type="text/html", headers={"Referrer-Policy": "no-referrer"})
