"""The desk's overview (/desk/overview, README "Desk workplace"): volumes, speed, places and the
questions asked again, for a chosen period, with a chart and a CSV per figure.

The figures come from gateway.store.overview (SQL aggregates, one read) and are kept CACHE_SECONDS
per period in the desk app, with the charts drawn from them: an overview a minute old is good
enough for management, and ten operators opening it at once cost one computation, not ten. Past
that minute the kept figures are still shown (up to STALE_SECONDS old) while they are computed
again in the background, so only the first visitor of a period, or one after a long quiet, waits
for the computation (seconds at 100,000 meldingen, bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from gateway import clock
from gateway.appkeys import SETTINGS, STORE
from gateway.config import Settings
from gateway.handling import error_body
from gateway.http.desk_pages import charts, clusters, overview_map
from gateway.http.desk_pages.charts import Table, dienst_label, pivot
from gateway.http.desk_pages.views import desk_context  # what every desk page shows
from gateway.store import Store
from gateway.store import overview as figures_of
from gateway.store.overview import AGE_BUCKETS, Figures, Median, Period

log = logging.getLogger(__name__)

PERIODS = (7, 30, 90, 365)  # days the period selector offers, ending today
DEFAULT_DAYS = 30
CACHE_SECONDS = 60.0
STALE_SECONDS = 600.0  # older figures are not shown: the visitor waits for fresh ones
QUESTION_LIMIT = 2000  # the latest info questions clustered (a bounded read: see clusters.py)
NAME = r"[a-z_]+"

# Charted tables and how: (name, kind). The other tables are CSV (and table) only.
CHARTS: dict[str, str] = {
    "per_day_channel": "stacked",
    "per_day_dienst": "stacked",
    "per_week_channel": "stacked",
    "per_week_dienst": "stacked",
    "open_age": "stacked",
    "seasonal": "line",
    "deelgemeenten": "hbar",
}


@dataclass
class Overview:
    days: int
    period: Period
    figures: Figures
    tables: dict[str, Table]
    clusters: list[clusters.Cluster]
    map: overview_map.HotspotMap | None
    computed_at: datetime
    expires: float
    svgs: dict[str, bytes] = field(default_factory=dict)  # drawn on first request, kept with it
    html: Markup | None = None  # the page's content (overview_body.html), idem


@dataclass
class _Cache:
    entries: dict[int, Overview] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refreshing: dict[int, asyncio.Task[None]] = field(default_factory=dict)


CACHE = web.AppKey("desk_overview_cache", _Cache)


def setup(app: web.Application) -> None:
    app[CACHE] = _Cache()
    app.on_cleanup.append(_stop_refreshing)
    app.router.add_get("/overview", overview_page)
    app.router.add_get(f"/overview/charts/{{name:{NAME}}}.svg", chart_svg)
    app.router.add_get(f"/overview/{{name:{NAME}}}.csv", table_csv)


async def overview_page(request: web.Request) -> web.Response:
    days = _days(request)
    if days is None:
        return _bad_days()
    seen = await _overview(request, days)
    if seen.html is None:  # the content once per computation; the page around it per request
        content = (
            aiohttp_jinja2.get_env(request.app)
            .get_template("overview_body.html")
            .render(o=seen, periods=PERIODS, charts=CHARTS, figures=seen.figures, hours=_hours, pct=_pct)
        )
        seen.html = Markup(content)
    context = await desk_context(request, content=seen.html)
    return aiohttp_jinja2.render_template("overview.html", request, context)


async def chart_svg(request: web.Request) -> web.Response:
    name, days = request.match_info["name"], _days(request)
    if days is None:
        return _bad_days()
    if name not in CHARTS:
        raise web.HTTPNotFound(text="no such chart")
    seen = await _overview(request, days)
    if name not in seen.svgs:
        seen.svgs[name] = await asyncio.to_thread(charts.svg, seen.tables[name], CHARTS[name])
    return web.Response(body=seen.svgs[name], content_type="image/svg+xml")


async def table_csv(request: web.Request) -> web.Response:
    name, days = request.match_info["name"], _days(request)
    if days is None:
        return _bad_days()
    seen = await _overview(request, days)
    if name not in seen.tables:
        raise web.HTTPNotFound(text="no such table")
    disposition = f'attachment; filename="overzicht-{name}-{days}d.csv"'
    return web.Response(
        text=seen.tables[name].csv(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": disposition},
    )


def _days(request: web.Request) -> int | None:
    raw = request.query.get("days", str(DEFAULT_DAYS))
    return int(raw) if raw.isdigit() and int(raw) in PERIODS else None


def _bad_days() -> web.Response:
    return error_body(400, "invalid_days", f"days must be one of {', '.join(map(str, PERIODS))}")


async def _overview(request: web.Request, days: int) -> Overview:
    cache = request.config_dict[CACHE]
    seen = cache.entries.get(days)
    now = time.monotonic()
    if seen is not None and now < seen.expires + STALE_SECONDS - CACHE_SECONDS:
        if seen.expires <= now and days not in cache.refreshing:
            task = asyncio.create_task(
                _refresh(cache, request.config_dict[STORE], request.config_dict[SETTINGS], days)
            )
            cache.refreshing[days] = task
        return seen
    async with cache.lock:  # one computation at a time; the others then find it cached
        seen = cache.entries.get(days)
        if seen is None or seen.expires + STALE_SECONDS - CACHE_SECONDS <= time.monotonic():
            seen = await compute(request.config_dict[STORE], request.config_dict[SETTINGS], days)
            cache.entries[days] = seen
        return seen


async def _refresh(cache: _Cache, store: Store, settings: Settings, days: int) -> None:
    try:
        async with cache.lock:
            cache.entries[days] = await compute(store, settings, days)
    except Exception:  # the kept figures stay; the next request past the minute tries again
        log.exception("desk overview: computing the figures failed")
    finally:
        del cache.refreshing[days]


async def _stop_refreshing(app: web.Application) -> None:
    for task in list(app[CACHE].refreshing.values()):
        task.cancel()


async def compute(store: Store, settings: Settings, days: int) -> Overview:
    zone = ZoneInfo(settings.timezone)
    now = clock.now()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    back = today.year * 12 + today.month - 1 - 11  # the past twelve months, this one included
    month = date(back // 12, back % 12 + 1, 1)
    period = Period(_midnight(first, zone), now, zone)
    year = Period(_midnight(month, zone), now, zone)
    found = await store.read(figures_of.gather, period, year, QUESTION_LIMIT)
    # Clustering, tables and map are Python work: on a thread, not in the way of other pages.
    groups = await asyncio.to_thread(clusters.cluster, found.questions)
    tables = await asyncio.to_thread(_tables, found, first, today, month, groups)
    return Overview(
        days=days,
        period=period,
        figures=found,
        tables=tables,
        clusters=groups,
        map=await asyncio.to_thread(_map, settings, found),
        computed_at=now,
        expires=time.monotonic() + CACHE_SECONDS,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _tables(
    found: Figures, first: date, today: date, month: date, groups: list[clusters.Cluster]
) -> dict[str, Table]:
    day_keys = [str(first + timedelta(days=n)) for n in range((today - first).days + 1)]
    monday = first - timedelta(days=first.weekday())
    week_keys = [str(monday + timedelta(weeks=n)) for n in range((today - monday).days // 7 + 1)]
    month_keys = [
        f"{month.year + (month.month - 1 + n) // 12}-{(month.month - 1 + n) % 12 + 1:02d}-01"
        for n in range(12)
    ]
    ages = {label: n for n, (label, _) in enumerate(AGE_BUCKETS)}
    open_cells = [(dienst_label(d), age, n) for d, age, n in found.open_by_age]
    tables = {
        "per_day_channel": pivot("Meldingen per dag, per kanaal", "dag", found.per_day["channel"], day_keys),
        "per_day_dienst": pivot(
            "Meldingen per dag, per dienst", "dag", found.per_day["dienst"], day_keys, label=dienst_label
        ),
        "per_week_channel": pivot(
            "Meldingen per week, per kanaal", "week (maandag)", found.per_week["channel"], week_keys
        ),
        "per_week_dienst": pivot(
            "Meldingen per week, per dienst",
            "week (maandag)",
            found.per_week["dienst"],
            week_keys,
            label=dienst_label,
        ),
        "open_age": pivot(
            "Open meldingen per dienst, naar ouderdom",
            "dienst",
            open_cells,
            sorted({c[0] for c in open_cells}),
            series_order=lambda label: ages[label],
        ),
        "seasonal": pivot(
            "Seizoen: meldingen per dienst per maand (afgelopen twaalf maanden)",
            "maand",
            found.seasonal,
            month_keys,
            label=dienst_label,
        ),
        "deelgemeenten": Table(
            "Meldingen per deelgemeente", ("deelgemeente", "meldingen"), tuple(found.deelgemeenten)
        ),
        "summary": _summary_table(found),
        "hotspots": _hotspot_table(found),
        "clusters": Table(
            "Dezelfde vraag, vaak gesteld (dienst info)",
            ("onderwerp", "vragen", "meldingen"),
            tuple((g.topic, g.size, " ".join(q.reference for q in g.questions)) for g in groups),
        ),
    }
    return tables


def _hotspot_table(found: Figures) -> Table:
    rows = (
        (
            dienst_label(h["dienst"]),
            h["count"],
            round(h["lat"], 6),
            round(h["lon"], 6),
            h["first_at"].isoformat(),
            h["last_at"].isoformat(),
            " ".join(h["references"]),
        )
        for h in found.hotspots
    )
    columns = ("dienst", "problemen", "lat", "lon", "eerste", "laatste", "meldingen")
    return Table("Hotspots", columns, tuple(rows))


def _summary_table(found: Figures) -> Table:
    s = found.summary
    rows: list[tuple[str, str | int | float]] = [
        ("meldingen", s.total),
        ("beantwoord aan de balie", s.answered_at_once),
        ("aandeel beantwoord aan de balie (%)", _pct(s.answered_at_once, s.total)),
        ("dubbele meldingen", s.duplicates),
        ("aandeel dubbele meldingen (%)", _pct(s.duplicates, s.total)),
        ("mediaan tot geregistreerd (uren)", _hours(found.to_registered)),
        ("meldingen geregistreerd", found.to_registered.count),
        ("mediaan tot behandeld (uren)", _hours(found.to_handled)),
        ("meldingen behandeld", found.to_handled.count),
    ]
    return Table("Samenvatting", ("cijfer", "waarde"), tuple(rows))


def _pct(part: int, whole: int) -> float | str:
    return round(100 * part / whole, 1) if whole else ""


def _hours(median: Median) -> float | str:
    return "" if median.seconds is None else round(median.seconds / 3600, 2)


def _map(settings: Settings, found: Figures) -> overview_map.HotspotMap | None:
    spots = [
        (
            h["lat"],
            h["lon"],
            h["count"],
            f"{dienst_label(h['dienst'])}: {h['count']} problemen ({', '.join(h['references'])})",
        )
        for h in found.hotspots
    ]
    return overview_map.hotspot_map(settings.street_register_file, settings.dedupe_file, spots)
