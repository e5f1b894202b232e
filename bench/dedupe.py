"""Duplicate detection benchmark: time per melding to find its duplicates, as the city grows.

For 1,000 / 10,000 / 100,000 open meldingen (spread over 9 diensten, a 9 x 9 km city, the
last four weeks; 70 % map pins, 30 % "somewhere on one of 1,200 streets"), 1,000 new
meldingen each look for their duplicates (half of them next to an existing problem, so that
candidates are really scored):

- memory: the in-memory index of `gateway dedupe`, and its size (tracemalloc);
- store: the worker's path, one `Store.read` per melding over a SQLite store holding the
  meldingen (or the `--database-url` one), with the file size;
- brute force, for comparison: rapidfuzz over the texts of every open melding of the dienst,
  then the distance test (what a store without blocking would have to do).

The time measured is the lookup and the scoring (`Deduper.best`). Locating and the text
features of the new melding cost the same at any size; they are measured once, apart, on the
hand-made and dev streams in tests/data/dedupe (`STREAMS`, never the held-out probes).
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bench.intake import ROOT
from gateway.config import Settings
from gateway.dedupe.finder import Deduper, load_deduper
from gateway.dedupe.geo import distance_m
from gateway.dedupe.memory import MemoryIndex
from gateway.dedupe.place import Place
from gateway.dedupe.records import Entry, Probe
from gateway.dedupe.service import StoreIndex
from gateway.melding import DIENST_CODES, Channel, Location, Melding, Reporter, Stage, Status
from gateway.store import Store
from gateway.store.schema import meldingen
from gateway.store.sql import insert_many

SIZES = (1_000, 10_000, 100_000)
PROBES = 1_000
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LAT0, LAT1, LON0, LON1 = 50.785, 50.865, 3.200, 3.330
STREETS = 1_200
DIENSTEN = [code for code in DIENST_CODES if code != "info"]  # info questions are not problems on a map


def text_pool(deduper: Deduper) -> dict[str, list[tuple[str, str, frozenset[str]]]]:
    """(raw text, content words, kinds) per dienst, from the hand-made streams."""
    pool: dict[str, list[tuple[str, str, frozenset[str]]]] = {d: [] for d in DIENSTEN}
    for m in stream_meldingen():
        if m.dienst in pool:
            probe = deduper.probe(m)
            pool[m.dienst].append((m.text, probe.text, probe.kinds))
    return pool


# A fixed list, not every file there: a stream added later must not shift the figures of one run
# against another, and the held-out probes (stream_probe*) are for scoring only.
STREAMS = (
    "autumn", "spring", "summer", "winter", "traps", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7",
)  # fmt: skip


def stream_meldingen() -> list[Melding]:
    """The hand-made streams as meldingen; a line without dienst gets the one of its cluster's first."""
    tz = ZoneInfo("Europe/Brussels")
    out = []
    for path in (ROOT / "tests" / "data" / "dedupe" / f"stream_{name}.jsonl" for name in STREAMS):
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if "event" not in line]  # status lines are no meldingen
        known = {line["cluster"]: line["dienst"] for line in lines if line.get("dienst")}
        for line in lines:
            loc = {k: line[k] for k in ("lat", "lon", "street", "house_number", "address") if k in line}
            out.append(
                Melding(
                    id=f"{path.stem}:{line['id']}",
                    reference=str(line["id"]),
                    channel=Channel.WEB,
                    received_at=datetime.fromisoformat(line["received_at"]).astimezone(tz),
                    reporter=Reporter(),
                    text=line["text"],
                    location=Location(**loc),
                    dienst=line.get("dienst") or known.get(line["cluster"]),
                    status=Status.ONTVANGEN,
                    stage=Stage.RECEIVED,
                    tracking_token="",
                )
            )
    return out


def _street_points(rng: random.Random) -> list[tuple[str, float, float]]:
    return [(f"benchstraat{n:04d}", rng.uniform(LAT0, LAT1), rng.uniform(LON0, LON1)) for n in range(STREETS)]


def make_entries(
    deduper: Deduper, pool: dict[str, list[tuple[str, str, frozenset[str]]]], count: int, rng: random.Random
) -> tuple[list[Entry], list[str]]:
    """Open meldingen as the index keeps them, and their raw texts (for the brute-force scan)."""
    streets = _street_points(rng)
    out, raw = [], []
    for n in range(count):
        dienst = rng.choice(DIENSTEN)
        full, text, kinds = rng.choice(pool[dienst])
        raw.append(full)
        if rng.random() < 0.7:
            lat, lon, radius, key, number = rng.uniform(LAT0, LAT1), rng.uniform(LON0, LON1), 25.0, None, None
        else:
            key, slat, slon = rng.choice(streets)
            lat, lon, radius, number = (
                slat,
                slon,
                300.0,
                (rng.randint(1, 200) if rng.random() < 0.5 else None),
            )
        at = NOW - timedelta(seconds=rng.uniform(0, 28 * 86400))
        out.append(
            Entry(
                id=f"e{n}",
                master_id=f"e{n}",
                dienst=dienst,
                received_at=at,
                lat=lat,
                lon=lon,
                radius_m=radius,
                street_key=key,
                number=float(number) if number is not None else None,
                kinds=kinds,
                text=text,
                cell=deduper.grid.cell(lat, lon),
            )
        )
    return out, raw


def make_probes(
    deduper: Deduper,
    pool: dict[str, list[tuple[str, str, frozenset[str]]]],
    entries: Sequence[Entry],
    raw: Sequence[str],
    rng: random.Random,
) -> tuple[list[Probe], list[str]]:
    probes, texts = [], []
    for n in range(PROBES):
        if n % 2 == 0:  # next to an existing problem: candidates to score
            i = rng.randrange(len(entries))
            near = entries[i]
            dienst, full, text, kinds = near.dienst, raw[i], near.text, near.kinds
            lat = (near.lat or 50.82) + rng.uniform(-0.0002, 0.0002)
            lon = (near.lon or 3.26) + rng.uniform(-0.0003, 0.0003)
        else:
            dienst = rng.choice(DIENSTEN)
            full, text, kinds = rng.choice(pool[dienst])
            lat, lon = rng.uniform(LAT0, LAT1), rng.uniform(LON0, LON1)
        place = Place(source="pin", confidence=0.95, lat=lat, lon=lon, radius_m=25.0)
        window = deduper.config.window(dienst, kinds)
        probes.append(Probe(f"p{n}", dienst, NOW, place, kinds, text, window))
        texts.append(full)
    return probes, texts


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]


def timed(fn: Callable[[Probe], Any], probes: Sequence[Probe]) -> tuple[float, float, int]:
    samples, linked = [], 0
    for probe in probes:
        start = time.perf_counter()
        result = fn(probe)
        samples.append((time.perf_counter() - start) * 1000)
        linked += result is not None
    p50, p95 = percentiles(samples)
    return p50, p95, linked


def bench_memory(
    deduper: Deduper, pool: dict[str, list[tuple[str, str, frozenset[str]]]], size: int, seed: int
) -> tuple[dict[str, Any], list[Entry], list[str], list[Probe], list[str]]:
    gc.collect()
    tracemalloc.start()
    entries, raw = make_entries(deduper, pool, size, random.Random(seed))
    index = MemoryIndex()
    for e in entries:
        index.add(e)
    used, _ = tracemalloc.get_traced_memory()  # the entries as indexed (raw texts not kept) + buckets
    used -= sum(len(t) + 49 for t in raw)  # the raw texts are here for the brute-force scan only
    tracemalloc.stop()
    probes, probe_texts = make_probes(deduper, pool, entries, raw, random.Random(seed + 1))

    def find(probe: Probe) -> Any:
        best, _ = deduper.best(index, probe)
        return best if best is not None and best.score >= deduper.config.threshold else None

    p50, p95, linked = timed(find, probes)
    candidates = statistics.mean(deduper.best(index, p)[1] for p in probes[:200])
    result = {"p50": p50, "p95": p95, "linked": linked, "memory_mb": used / 2**20, "candidates": candidates}
    return result, entries, raw, probes, probe_texts


def _rows(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    rows = []
    for n, e in enumerate(entries):
        rows.append(
            {
                "id": e.id,
                "reference": f"BENCH-{n:07d}",
                "channel": "web",
                "external_id": None,
                "received_at": e.received_at,
                "text": e.text,
                "dienst": e.dienst,
                "status": Status.GEREGISTREERD.value,
                "stage": Stage.DELIVERED.value,
                "tracking_token": f"t{n}",
                "updated_at": e.received_at,
                "loc_lat": e.lat,
                "loc_lon": e.lon,
                "loc_radius": e.radius_m,
                "street_key": e.street_key,
                "house_no": e.number,
                "geo_cell": e.cell,
                "dedupe_sig": e.signature(),
            }
        )
    return rows


async def bench_store(
    deduper: Deduper, entries: list[Entry], probes: list[Probe], url: str
) -> dict[str, Any]:
    store = Store(url)
    await store.open()
    try:
        if store.dialect == "postgresql":
            await store.write(lambda conn: conn.exec_driver_sql("TRUNCATE meldingen CASCADE"))
        rows = _rows(entries)
        for start in range(0, len(rows), 5000):
            await store.write(insert_many, meldingen, rows[start : start + 5000])
        if store.dialect == "postgresql":
            await store.write(lambda conn: conn.exec_driver_sql("ANALYZE meldingen"))
        else:
            await store.write(lambda conn: conn.exec_driver_sql("ANALYZE"))
        samples, linked = [], 0
        for probe in probes:
            start = time.perf_counter()
            best, _ = await store.read(lambda conn, p=probe: deduper.best(StoreIndex(conn), p))
            samples.append((time.perf_counter() - start) * 1000)
            linked += best is not None and best.score >= deduper.config.threshold
        p50, p95 = percentiles(samples)
        out: dict[str, Any] = {"p50": p50, "p95": p95, "linked": linked}
        if store.dialect == "sqlite":
            out["file_mb"] = Path(url.removeprefix("sqlite:///")).stat().st_size / 2**20
        return out
    finally:
        await store.close()


def bench_brute(
    deduper: Deduper, entries: list[Entry], raw: list[str], probes: list[Probe], probe_texts: list[str]
) -> dict[str, Any]:
    """No blocking: rapidfuzz against the text of every open melding, then dienst and distance."""

    def find(n: int) -> Any:
        probe = probes[n]
        assert probe.place.lat is not None and probe.place.lon is not None
        hits = process.extract(probe_texts[n], raw, scorer=fuzz.token_set_ratio, limit=None, score_cutoff=60)
        for _, _, i in hits:
            e = entries[i]
            if e.dienst != probe.dienst or e.lat is None or e.lon is None:
                continue
            if distance_m(probe.place.lat, probe.place.lon, e.lat, e.lon) <= 100:
                return e
        return None

    samples = []
    for n in range(0, len(probes), 20):  # 50 of them: the scan is slow
        start = time.perf_counter()
        find(n)
        samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    return {"p50": p50, "p95": p95}


def bench_features(deduper: Deduper) -> dict[str, Any]:
    """Locate + kinds + content words per melding, on the hand-made streams (size-independent)."""
    ms = stream_meldingen()
    samples = []
    for _ in range(3):
        for m in ms:
            start = time.perf_counter()
            deduper.probe(m)
            samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    return {"p50": p50, "p95": p95, "meldingen": len(ms)}


def main(database_url: str | None = None, quick: bool = False, **_: Any) -> dict[str, float]:
    settings = Settings(
        dedupe_file=ROOT / "config" / "dedupe.toml", street_register_file=ROOT / "config" / "streets.csv"
    )
    deduper = load_deduper(settings)
    sizes = SIZES[:2] if quick else SIZES  # building 100,000 takes most of a minute
    features = bench_features(deduper)
    figures = {"dedupe_features_p50_ms": features["p50"], "dedupe_features_p95_ms": features["p95"]}
    print(
        f"dedupe: locating + text features per melding (any store size): p50 {features['p50']:.2f} ms, "
        f"p95 {features['p95']:.2f} ms over {features['meldingen']} hand-made meldingen"
    )
    print("dedupe: time per melding to find its duplicates (lookup + scoring), 1000 new meldingen each")
    print(
        f"{'open meldingen':>15} | {'memory index p50/p95':>21} | {'index MB':>8} | {'cand.':>5} | "
        f"{'store p50/p95':>16} | {'brute force p50/p95':>20}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-") as tmp:
        pool = text_pool(deduper)
        for size in sizes:
            mem, entries, raw, probes, probe_texts = bench_memory(deduper, pool, size, seed=size)
            url = database_url or f"sqlite:///{tmp}/dedupe-{size}.db"
            store = asyncio.run(bench_store(deduper, entries, probes, url))
            brute = bench_brute(deduper, entries, raw, probes, probe_texts)
            extra = f" ({store['file_mb']:.0f} MB file)" if "file_mb" in store else ""
            print(
                f"{size:>15,} | {mem['p50']:>8.3f} / {mem['p95']:>6.3f} ms | {mem['memory_mb']:>8.1f} | "
                f"{mem['candidates']:>5.1f} | {store['p50']:>6.3f} / {store['p95']:>5.3f} ms | "
                f"{brute['p50']:>8.1f} / {brute['p95']:>6.1f} ms{extra}",
                flush=True,
            )
            for name, result in (("memory", mem), ("store", store), ("brute", brute)):
                figures[f"dedupe_{size}_{name}_p50_ms"] = result["p50"]
                figures[f"dedupe_{size}_{name}_p95_ms"] = result["p95"]
            figures[f"dedupe_{size}_index_mb"] = mem["memory_mb"]
            figures[f"dedupe_{size}_candidates"] = mem["candidates"]
    return figures
