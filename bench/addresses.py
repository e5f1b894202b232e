"""Address suggestions benchmark: `GET /api/v1/addresses?q=` as the form's address field asks it.

Queries a citizen types (typos, abbreviations, beginnings, without accents, with house numbers),
answered by the index the gateway builds at start-up (gateway/http/addresses.py):

- index: `AddressIndex.search` over the shipped register (config/streets.csv + addresses.csv) and
  over a city-sized synthetic register (the shipped names in 3,000 variants: a larger city's count);
- http: the whole request through the gateway's aiohttp app (routing, JSON), one client, in-process;
- baseline: what a register without an index would do per query, folding every name and scoring
  it with rapidfuzz's WRatio (the same library, no precomputed keys).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from rapidfuzz import fuzz, process

from bench.intake import REDIS_URL, ROOT
from gateway.config import Settings
from gateway.dedupe.register import Street, StreetRegister, load_streets
from gateway.dedupe.text import fold
from gateway.http.addresses import AddressIndex
from gateway.http.app import create_app

QUERIES = (
    "Doorniksest.",
    "doornikse stwg 12",
    "Budastrat",
    "grote mrkt",
    "conde dreef",
    "Kon. Albertstraat 3",
    "sint amands",
    "Aalbeeksesteenweg 25",
    "gentse stwg",
    "stat",
    "leie",
    "bissegemplaats 7",
    "qqxxzzvvw",
)
CITY_STREETS = 3_000


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(fn: Callable[[str], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        for q in QUERIES:
            started = time.perf_counter()
            fn(q)
            samples.append(time.perf_counter() - started)
    return percentiles(samples)


def city_register(streets: list[Street]) -> StreetRegister:
    """The shipped streets in CITY_STREETS variants ("Budastraat", "Budastraat 2", "Nieuwe Budastraat"...)."""
    prefixes = ("", "Nieuwe ", "Oude ", "Kleine ", "Grote ", "Hoge ", "Lage ", "Korte ", "Lange ", "Sint-")
    out: list[Street] = []
    n = 0
    while len(out) < CITY_STREETS:
        for s in streets:
            if s.kind != "street" or len(out) >= CITY_STREETS:
                continue
            prefix = prefixes[n % len(prefixes)]
            suffix = f"-{n // len(prefixes)}" if n >= len(prefixes) else ""
            name = f"{prefix}{s.name}{suffix}"
            out.append(
                Street(key=fold(name).replace(" ", ""), name=name, kind="street", postcodes=s.postcodes)
            )
        n += 1
    return StreetRegister(out)


def brute_force(register: StreetRegister) -> Callable[[str], Any]:
    labels = [s.name for s in register.streets.values()]

    def search(q: str) -> Any:
        return process.extract(fold(q), [fold(label) for label in labels], scorer=fuzz.WRatio, limit=10)

    return search


async def http_figures(repeat: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-addresses-") as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/gateway.db",
            redis_url=REDIS_URL,
            data_dir=Path(tmp) / "data",
            dedupe_file=ROOT / "config" / "dedupe.toml",
            street_register_file=ROOT / "config" / "streets.csv",
            log_format="text",
            log_level="WARNING",
            model_autotrain=False,
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            samples = []
            for _ in range(repeat):
                for q in QUERIES:
                    started = time.perf_counter()
                    answer = await client.get("/api/v1/addresses", params={"q": q})
                    await answer.read()
                    samples.append(time.perf_counter() - started)
                    assert answer.status == 200
            return percentiles(samples)


def main(quick: bool = False, **_: Any) -> dict[str, float]:
    repeat = 20 if quick else 200
    shipped = StreetRegister.from_files(ROOT / "config" / "streets.csv", ROOT / "config" / "addresses.csv")
    city = city_register(load_streets(ROOT / "config" / "streets.csv"))
    figures: dict[str, float] = {"addresses_streets": len(shipped), "addresses_city_streets": len(city)}
    for name, register in (("shipped", shipped), ("city", city)):
        started = time.perf_counter()
        index = AddressIndex(register)
        figures[f"addresses_{name}_build_ms"] = (time.perf_counter() - started) * 1000
        p50, p95 = timed(index.search, repeat)
        b50, b95 = timed(brute_force(register), max(1, repeat // 4))
        figures |= {
            f"addresses_{name}_p50_ms": p50,
            f"addresses_{name}_p95_ms": p95,
            f"addresses_{name}_brute_p50_ms": b50,
            f"addresses_{name}_brute_p95_ms": b95,
        }
        print(f"addresses {name} ({len(register)} streets): p50 {p50:.3f} ms, p95 {p95:.3f} ms", flush=True)
    p50, p95 = asyncio.run(http_figures(max(1, repeat // 4)))
    figures |= {"addresses_http_p50_ms": p50, "addresses_http_p95_ms": p95}
    print(f"addresses http: p50 {p50:.3f} ms, p95 {p95:.3f} ms", flush=True)
    return figures


if __name__ == "__main__":
    print(main())
