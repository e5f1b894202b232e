"""The 1777 desk's workplace at /desk (README "Desk workplace"): a sub-app of the gateway's app, so
that its session cookie, its guard (login, idle timeout, CSRF) and its Dutch templates apply to the
desk's pages only. `auth`: sessions, login, logout; `views`: the pages and their actions;
`templates/`: the pages (aiohttp-jinja2, autoescape). The signed JSON endpoint of the same decision
(gateway/http/desk.py) stays for scripts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway import clock, texts
from gateway.config import Settings
from gateway.dossier import stage_label, who
from gateway.http.desk_pages import (
    auth,
    directory_views,
    duplicates,
    melding,
    melding_details,
    overview,
    search_views,
    views,
)
from gateway.http.desk_pages.charts import dienst_label
from gateway.phonenumber import readable

KEY = r"[^/\x00-\x1f\x7f]+"  # as gateway.http.routes: a key never holds a control character


def create_desk_app(settings: Settings) -> web.Application:
    app = web.Application()
    auth.setup(app, settings)
    env = aiohttp_jinja2.setup(
        app,
        # the desk's own templates, and the gateway's under "shared/" (the street map's macro)
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("gateway.http.desk_pages", "templates"),
                jinja2.PrefixLoader({"shared": jinja2.PackageLoader("gateway.http", "templates")}),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    zone = ZoneInfo(settings.timezone)
    env.filters.update(
        {
            "when": lambda moment: _local(moment, zone),
            "who": who,
            "stage": stage_label,
            "status": lambda status: texts.status_label(status, "nl"),
            "dienst": dienst_label,
            "ago": _ago,
            "phone": readable,
        }
    )
    env.globals["place_of"] = melding_details.place_of
    app.on_response_prepare.append(_headers)
    r = app.router
    r.add_get("/login", auth.login_page, name="desk_login")
    r.add_post("/login", auth.login, name="desk_login_post")
    r.add_post("/logout", auth.logout)
    r.add_get("/", views.home)
    r.add_get("/triage", views.triage_page)
    r.add_post(f"/triage/{{id:{KEY}}}/route", views.route)
    r.add_get(f"/meldingen/{{id:{KEY}}}", views.melding_page)
    r.add_post(f"/meldingen/{{id:{KEY}}}/answer", views.answer)
    r.add_post(f"/meldingen/{{id:{KEY}}}/ask", views.ask)
    r.add_get("/waiting", views.waiting_page)
    r.add_get("/duplicates", duplicates.duplicates_page)
    r.add_post(f"/duplicates/{{id:{KEY}}}/confirm", duplicates.confirm)
    r.add_post(f"/duplicates/{{id:{KEY}}}/reject", duplicates.reject)
    melding.add_routes(r, KEY)
    r.add_get("/directory/log", directory_views.log_page)
    r.add_get("/search", search_views.search_page)
    overview.setup(app)
    return app


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Staff pages with personal data: never cached, never framed (clickjacking), no scripts at all,
    no referrer to another site."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    if response.content_type == "image/svg+xml":  # a chart drawn with its own inline style, shown as an image
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d-%m-%Y %H:%M") if moment else "—"


def _ago(moment: datetime | None) -> str:
    """How long ago, in Dutch words a desk reads at a glance: "3 d 4 u", "2 u 5 min", "12 min"."""
    if moment is None:
        return "—"
    minutes = max(0, int((clock.now() - moment).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} u"
    if hours:
        return f"{hours} u {mins} min"
    return f"{mins} min"
