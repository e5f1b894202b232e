"""Desk and tracking pages: GETs/s and latency of the pages read most, over a store of 10,000 meldingen.

One `gateway serve` process over a store filled through `Store.intake` (as the channels
fill it: history, tokens, references), a tenth of it waiting in triage with the model's
alternatives, the rest delivered with a second status entry. Then a closed-loop aiohttp
client (the same as the intake benchmark) asks for, one page after the other:

- `GET /t/{token}`: the reporter's tracking page (gateway/http/tracking.py, Jinja2), a
  random token of the store each time;
- `GET /api/v1/meldingen?stage=triage&limit=50`: the desk's queue (what the desk reads before
  `POST /api/v1/meldingen/{id}/dienst` of gateway/http/desk.py, which is a signed write, not a page);
- `GET /api/v1/meldingen/{id}`: one melding as the desk sees it, a random one each time.

10 concurrent connections (`--concurrency` of `python -m bench` is for the intake load).
Baseline, same run: `bench.baseline` answering a fixed body of the same size as each page
(aiohttp's own cost of the GET, without store read or rendering).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from bench.intake import baseline_cmd, cpu_seconds, free_port, gateway_cmd, server
from bench.load import TEXTS, LoadResult, PathFactory, median_result, run_load
from gateway.melding import Channel, MeldingDraft, Reporter, Stage, Status
from gateway.store import Store
from gateway.store.schema import meldingen, status_history
from gateway.store.sql import insert_many

PAGES = ("tracking", "queue", "melding")


async def fill(url: str, count: int) -> tuple[list[str], list[str]]:
    """`count` meldingen through `Store.intake`; a tenth moved to triage. (ids, tracking tokens)"""
    store = Store(url)
    await store.open()
    try:
        if store.dialect == "postgresql":
            await store.write(lambda conn: conn.exec_driver_sql("TRUNCATE meldingen CASCADE"))
        start = datetime.now(UTC) - timedelta(days=30)
        stored = []
        for first in range(0, count, 500):
            drafts = [
                MeldingDraft(
                    channel=Channel.WEB,
                    received_at=start + timedelta(seconds=n * 200),
                    text=f"{TEXTS[n % len(TEXTS)]} ({n})",
                    reporter=Reporter(name=f"Melder {n}", email=f"melder{n}@example.be"),
                )
                for n in range(first, min(count, first + 500))
            ]
            stored += await asyncio.gather(*(store.intake(d) for d in drafts))
        ids = [s.id for s in stored]
        triage, delivered = ids[::10], [i for n, i in enumerate(ids) if n % 10]
        await store.write(_route, triage, delivered, datetime.now(UTC))
        return ids, [s.tracking_token for s in stored]
    finally:
        await store.close()


def _route(conn: Any, triage: list[str], delivered: list[str], now: datetime) -> None:
    alternatives = [["wegen", 0.41], ["groen", 0.33], ["netheid", 0.12]]  # (dienst, score), as stored
    for first in range(0, len(triage), 500):
        chunk = triage[first : first + 500]
        conn.execute(
            update(meldingen)
            .where(meldingen.c.id.in_(chunk))
            .values(stage=Stage.TRIAGE.value, alternatives=alternatives, confidence=0.41)
        )
    for first in range(0, len(delivered), 500):
        chunk = delivered[first : first + 500]
        conn.execute(
            update(meldingen)
            .where(meldingen.c.id.in_(chunk))
            .values(stage=Stage.DELIVERED.value, status=Status.GEREGISTREERD.value, dienst="wegen")
        )
    rows = [
        {"melding_id": i, "status": Status.GEREGISTREERD.value, "note": None, "planned_date": None,
         "external_partner": None, "source": "gateway", "at": now}
        for i in delivered
    ]  # fmt: skip
    insert_many(conn, status_history, rows)


def page_paths(ids: list[str], tokens: list[str]) -> dict[str, PathFactory]:
    rng = random.Random(7)
    return {
        "tracking": lambda _n, _i: f"/t/{rng.choice(tokens)}",
        "queue": lambda _n, _i: "/api/v1/meldingen?stage=triage&limit=50",
        "melding": lambda _n, _i: f"/api/v1/meldingen/{rng.choice(ids)}",
    }


def page_bytes(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        return len(resp.read())


DESK_CONCURRENCY = 10  # the desk is a handful of people, the tracking page a few citizens at once


def main(
    seconds: float = 8.0,
    concurrency: int = DESK_CONCURRENCY,
    rounds: int = 3,
    database_url: str | None = None,
    quick: bool = False,
    meldingen_count: int = 10_000,
    **_: Any,
) -> dict[str, float]:
    if quick:
        seconds, rounds, meldingen_count = min(seconds, 2.0), 1, 2_000
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
        url = database_url or f"sqlite:///{tmp}/gateway.db"
        ids, tokens = asyncio.run(fill(url, meldingen_count))
        print(f"desk pages: store of {meldingen_count} meldingen ({len(ids[::10])} in triage)", flush=True)
        paths = page_paths(ids, tokens)
        gw_port, base_port = free_port(), free_port()
        gw_cmd, gw_env = gateway_cmd(gw_port, url, f"{tmp}/data")
        gateway: dict[str, list[LoadResult]] = {p: [] for p in PAGES}
        baseline: dict[str, list[LoadResult]] = {p: [] for p in PAGES}
        sizes: dict[str, int] = {}
        for _round in range(rounds):
            with server(gw_cmd, gw_port, gw_env) as proc:
                for page in PAGES:
                    sizes[page] = page_bytes(gw_port, paths[page](0, 0))
                    gateway[page].append(_load(gw_port, paths[page], proc.pid, concurrency, seconds))
            with server(baseline_cmd(base_port), base_port, dict(os.environ)) as proc:
                for page in PAGES:
                    fixed = f"/page/{sizes[page]}"
                    baseline[page].append(
                        _load(base_port, lambda _n, _i, f=fixed: f, proc.pid, concurrency, seconds)
                    )
    figures: dict[str, float] = {}
    print(f"\ndesk pages, {concurrency} concurrent connections, {seconds:.0f} s x {rounds} rounds (median):")
    for page in PAGES:
        g, b = median_result(gateway[page]), median_result(baseline[page])
        print(g.line(f"{page} ({sizes[page]} B)"))
        print(b.line("  baseline, same size"))
        figures.update(g.figures(f"desk_{page}"))
        figures.update(b.figures(f"desk_{page}_baseline"))
        figures[f"desk_{page}_bytes"] = float(sizes[page])
    return figures


def _load(port: int, get: PathFactory, pid: int, concurrency: int, seconds: float) -> LoadResult:
    return asyncio.run(
        run_load(
            f"http://127.0.0.1:{port}",
            concurrency=concurrency,
            seconds=seconds,
            cpu=lambda: cpu_seconds(pid),
            get=get,
            expect=200,
        )
    )
