"""The desk's overview against a store seeded with known counts (tests/support/overview.py), on
SQLite and PostgreSQL: per day and week by channel and dienst, the share answered at once, medians
from the status history, duplicates, the seasonal view, deelgemeenten, open by age, hotspots and the
clustered info questions; the CSV of every figure and the SVG of every chart."""

from __future__ import annotations

import asyncio
import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.desk_pages import overview
from gateway.http.desk_pages.clusters import cluster
from gateway.store import Store
from gateway.store.overview import Period, Question, counts
from gateway.store.schema import meldingen
from tests.support.api import store_of
from tests.support.desk import desk_settings, login
from tests.support.overview import NOW, Seed, reference, rows_of

SVG = "{http://www.w3.org/2000/svg}"
extra = Seed(16, NOW - timedelta(hours=1), "web", "wegen", "delivered", "geregistreerd")
extra2 = Seed(17, NOW - timedelta(hours=1), "web", "wegen", "delivered", "geregistreerd")


@pytest.fixture
async def desk(overview_site: TestClient[Any, Any]) -> TestClient[Any, Any]:
    """The seeded overview site (tests/support/desk_fixtures.py), operator "an" logged in."""
    assert (await login(overview_site, "an")).status == 303
    return overview_site


async def table(client: TestClient[Any, Any], name: str, days: int = 30) -> list[list[str]]:
    answer = await client.get(f"/desk/overview/{name}.csv?days={days}")
    assert answer.status == 200, await answer.text()
    assert answer.content_type == "text/csv"
    assert f"overzicht-{name}-{days}d.csv" in answer.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(await answer.text())))


def nonzero(rows: list[list[str]]) -> dict[str, dict[str, int]]:
    """A pivoted CSV as {row: {column: count}}, without zeros and the total column."""
    head = rows[0]
    return {
        r[0]: {head[n]: int(v) for n, v in enumerate(r) if 0 < n < len(head) - 1 and v != "0"}
        for r in rows[1:]
        if r[-1] != "0"
    }


async def test_per_day_and_week_by_channel_and_dienst_in_local_days(desk: TestClient[Any, Any]) -> None:
    days = await table(desk, "per_day_channel")
    assert days[0] == ["dag", "email", "phone", "sms", "web", "totaal"]
    assert len(days) == 1 + 30  # every day of the period, also those without meldingen
    assert (days[1][0], days[-1][0]) == ("2026-10-22", "2026-11-20")
    assert nonzero(days) == {
        "2026-10-25": {"web": 1},  # 22:30 UTC on the 24th is 00:30 summer time on the 25th
        "2026-10-27": {"email": 1},
        "2026-11-18": {"web": 1, "email": 1},
        "2026-11-19": {"sms": 1, "phone": 2, "email": 1},  # 23:30 UTC on the 18th: winter time, the 19th
        "2026-11-20": {"web": 3, "sms": 1},
    }
    per_dienst = nonzero(await table(desk, "per_day_dienst"))
    assert per_dienst["2026-11-20"] == {"Infopunt 1777": 3, "onbekend": 1}
    assert per_dienst["2026-11-19"] == {"Groendienst": 2, "Infopunt 1777": 2}
    weeks = await table(desk, "per_week_channel")
    assert nonzero(weeks) == {
        "2026-10-19": {"web": 1},
        "2026-10-26": {"email": 1},
        "2026-11-16": {"email": 2, "phone": 2, "sms": 2, "web": 4},
    }
    assert [r[0] for r in weeks[1:]] == ["2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    week_dienst = nonzero(await table(desk, "per_week_dienst"))
    assert week_dienst["2026-11-16"] == {
        "Groendienst": 2,
        "Infopunt 1777": 5,
        "Publieke Ruimte": 2,
        "onbekend": 1,
    }
    week = nonzero(await table(desk, "per_day_channel", days=7))
    assert sorted(week) == ["2026-11-18", "2026-11-19", "2026-11-20"]


async def test_summary_answered_at_once_duplicates_and_medians(desk: TestClient[Any, Any]) -> None:
    summary = dict(r for r in (await table(desk, "summary"))[1:])
    assert summary == {
        "meldingen": "12",
        "beantwoord aan de balie": "4",
        "aandeel beantwoord aan de balie (%)": "33.3",
        "dubbele meldingen": "1",
        "aandeel dubbele meldingen (%)": "8.3",
        "mediaan tot geregistreerd (uren)": "2.0",  # of 1, 1, 2, 2, 4, 6, 10 hours
        "meldingen geregistreerd": "7",
        "mediaan tot behandeld (uren)": "60.0",  # of 48 and 72 hours: the middle two's mean
        "meldingen behandeld": "2",
    }
    page = await desk.get("/desk/overview")
    html = await page.text()
    assert page.status == 200
    assert '<dd id="total">12</dd>' in html
    assert '<dd id="answered">4 (33.3 %)</dd>' in html
    assert '<dd id="to-registered">2.0 uur (7 meldingen)</dd>' in html


async def test_seasonal_deelgemeenten_and_open_by_age(desk: TestClient[Any, Any]) -> None:
    seasonal = await table(desk, "seasonal")
    assert [r[0] for r in seasonal[1:]] == ["2025-12-01"] + [f"2026-{m:02d}-01" for m in range(1, 12)]
    assert nonzero(seasonal) == {
        "2025-12-01": {"Groendienst": 1},  # a year before: 2025-11 is not in the past twelve months
        "2026-03-01": {"Groendienst": 1},
        "2026-10-01": {"Openbare verlichting (netbeheerder)": 2},
        "2026-11-01": {"Groendienst": 2, "Infopunt 1777": 5, "Publieke Ruimte": 2, "onbekend": 1},
    }
    assert (await table(desk, "deelgemeenten"))[1:] == [
        ["onbekend", "6"],
        ["Heule", "2"],
        ["Marke", "2"],
        ["Bissegem", "1"],
        ["Kortrijk", "1"],
    ]
    ages = await table(desk, "open_age")
    assert ages[0] == ["dienst", "< 1 dag", "1-7 dagen", "7-30 dagen", "> 30 dagen", "totaal"]
    assert ages[1:] == [
        ["Groendienst", "0", "2", "0", "0", "2"],
        ["Infopunt 1777", "1", "0", "0", "0", "1"],
        ["Openbare verlichting (netbeheerder)", "0", "0", "1", "0", "1"],
        ["Publieke Ruimte", "0", "1", "0", "1", "2"],
        ["onbekend", "1", "0", "0", "0", "1"],
    ]


async def test_hotspots_and_the_same_question_many_times(desk: TestClient[Any, Any]) -> None:
    spots = await table(desk, "hotspots")
    assert [r[:4] + r[6:] for r in spots[1:]] == [
        ["Groendienst", "2", "50.8275", "3.265", f"{reference(3)} {reference(4)}"]
    ]  # the riolering hotspot ended before the period
    groups = await table(desk, "clusters")
    assert [r[1:] for r in groups[1:]] == [
        ["3", " ".join(reference(n) for n in (5, 6, 7))],
        ["2", " ".join(reference(n) for n in (8, 9))],
    ]
    html = await (await desk.get("/desk/overview")).text()
    assert html.count('class="hotspot"') == 1
    assert html.count("<li data-size=") == 2


async def test_charts_are_svg_with_their_series(desk: TestClient[Any, Any]) -> None:
    page = await (await desk.get("/desk/overview")).text()
    for name in overview.CHARTS:
        answer = await desk.get(f"/desk/overview/charts/{name}.svg?days=30")
        assert answer.status == 200
        assert answer.content_type == "image/svg+xml"
        assert "script-src" not in answer.headers["Content-Security-Policy"]
        root = ET.fromstring(await answer.read())
        assert root.tag == f"{SVG}svg"
        assert not list(root.iter(f"{SVG}script"))
        texts = {t.text for t in root.iter(f"{SVG}text")} | {t.text for t in root.iter(f"{SVG}title")}
        title = next(root.iter(f"{SVG}title")).text
        assert f'<section class="chart" id="{name}">\n<h2>{title}</h2>' in page  # the page names it so
        if name == "per_day_channel":
            assert {"Meldingen per dag, per kanaal", "web", "email", "sms", "phone"} <= texts
            assert len(list(root.iter(f"{SVG}g"))) > 4
        if name == "seasonal":
            assert {"Groendienst", "Infopunt 1777", "2026-03-01"} <= texts
        if name == "deelgemeenten":
            assert {"Heule", "Marke", "onbekend"} <= texts


async def test_bad_period_unknown_names_and_login(desk: TestClient[Any, Any], settings: Settings) -> None:
    for path in (
        "/desk/overview?days=8",
        "/desk/overview/summary.csv?days=x",
        "/desk/overview/charts/seasonal.svg?days=-1",
    ):
        answer = await desk.get(path)
        assert answer.status == 400
        assert (await answer.json())["error"]["code"] == "invalid_days"
    assert (await desk.get("/desk/overview/charts/summary.svg")).status == 404
    assert (await desk.get("/desk/overview/nothing.csv")).status == 404
    async with TestClient(TestServer(create_app(desk_settings(settings)))) as stranger:
        for path in ("/desk/overview", "/desk/overview/summary.csv", "/desk/overview/charts/seasonal.svg"):
            answer = await stranger.get(path, allow_redirects=False)
            assert answer.status in (302, 303) and "/desk/login" in answer.headers["Location"]


def test_clusters_are_simple_and_deterministic() -> None:
    def q(n: int, text: str) -> Question:
        return Question(f"id{n}", f"ref{n}", NOW, text)

    questions = [
        q(1, "Waar kan ik mijn rijbewijs vernieuwen?"),
        q(2, "Wat zijn de openingsuren van het recyclagepark?"),
        q(3, "Recyclagepark open op zondag?"),
        q(4, "Mijn rijbewijs vernieuwen, waar moet ik zijn?"),
        q(5, "Is het recyclagepark vandaag open?"),
        q(6, "Dank"),  # no two content words: joins nothing
    ]
    groups = cluster(questions)
    assert [[x.id for x in g.questions] for g in groups] == [["id2", "id3", "id5"], ["id1", "id4"]]
    assert [[x.id for x in g.questions] for g in cluster(questions)] == [
        ["id2", "id3", "id5"],
        ["id1", "id4"],
    ]


async def test_figures_past_their_minute_are_shown_while_computed_again(
    desk: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def total() -> str:
        return dict(r for r in (await table(desk, "summary", days=7))[1:])["meldingen"]

    monkeypatch.setattr(overview, "CACHE_SECONDS", 0.0)  # every answer is past its minute at once
    assert await total() == "10"
    await store_of(desk).write(lambda conn: conn.execute(meldingen.insert().values(**rows_of(extra))))
    assert await total() == "10"  # the kept figures, while they are computed again
    for _ in range(100):
        if await total() == "11":
            break
        await asyncio.sleep(0.05)
    assert await total() == "11"
    monkeypatch.setattr(overview, "STALE_SECONDS", 0.0)  # too old to show: computed before answering
    await store_of(desk).write(lambda conn: conn.execute(meldingen.insert().values(**rows_of(extra2))))
    assert await total() == "12"


async def test_local_days_weeks_and_months_across_both_clock_changes(database_url: str) -> None:
    """Just after local midnight on either side of the spring and autumn changes of 2026, and on
    New Year's night: each counted on its Brussels day, week and month, on both backends."""
    moments = {
        "2026-03-29": _t("2026-03-28T23:30"),  # UTC+1: 00:30 on the 29th, the clocks go forward at 01:00 UTC
        "2026-03-30": _t("2026-03-29T22:30"),  # UTC+2: 00:30 on the 30th
        "2026-10-25": _t("2026-10-24T22:30"),  # UTC+2: 00:30 on the 25th, back at 01:00 UTC
        "2026-10-26": _t("2026-10-25T23:30"),  # UTC+1: 00:30 on the 26th
        "2026-01-01": _t("2025-12-31T23:30"),  # UTC+1: New Year
    }
    store = Store(database_url)
    await store.open()
    try:
        seeds = [
            Seed(20 + n, at, "web", "groen", "delivered", "geregistreerd")
            for n, at in enumerate(moments.values())
        ]
        await store.write(lambda conn: conn.execute(meldingen.insert(), [rows_of(s) for s in seeds]))
        period = Period(_t("2025-12-01T00:00"), NOW, ZoneInfo("Europe/Brussels"))
        days = await store.read(counts, period, "day", "channel")
        assert days == [(day, "web", 1) for day in sorted(moments)]
        weeks = await store.read(counts, period, "week", "channel")
        assert weeks == [("2025-12-29", "web", 1), ("2026-03-23", "web", 1), ("2026-03-30", "web", 1),
                         ("2026-10-19", "web", 1), ("2026-10-26", "web", 1)]  # fmt: skip
        months = await store.read(counts, period, "month", "dienst")
        assert months == [("2026-01-01", "groen", 1), ("2026-03-01", "groen", 2), ("2026-10-01", "groen", 2)]
    finally:
        await store.close()


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")
