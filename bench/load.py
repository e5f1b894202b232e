"""A closed-loop HTTP load generator: N connections, each posting as soon as its last answer came."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import aiohttp

TEXTS = [
    "Er ligt een losliggende tegel op het voetpad voor nummer 12.",
    "Sluikstort aan de glasbol in de Kortrijksestraat, zakken en een oude matras.",
    "De straatlamp aan de bushalte brandt al een week niet meer.",
    "Wanneer wordt het PMD opgehaald in Heule?",
]


# (connection number, request number) -> (body, headers): what one request sends
RequestFactory: TypeAlias = Callable[[int, int], tuple[bytes, dict[str, str]]]
# (connection number, request number) -> the path (and query) one GET asks for
PathFactory: TypeAlias = Callable[[int, int], str]


def melding_request(n: int, i: int) -> tuple[bytes, dict[str, str]]:
    """A JSON melding with a fresh Idempotency-Key (`POST /api/v1/meldingen`)."""
    body = json.dumps({"text": TEXTS[(n + i) % len(TEXTS)], "reporter": {"email": "bench@example.be"}})
    return body.encode(), {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    server_cpu: float = 0.0  # CPU seconds the server used while measured
    peak_rss_mb: float | None = None  # the server's VmHWM once measured, when read

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    def cpu_per_request(self) -> float:
        """Server CPU microseconds per answered request, over the measured window."""
        return self.server_cpu / max(1, self.requests) * 1e6

    def figures(self, prefix: str) -> dict[str, float]:
        """The flat figures of BENCHMARKS.md: `<prefix>_req_s`, `_p50_ms`, `_p99_ms`, `_cpu_us`."""
        out = {
            f"{prefix}_req_s": self.rate,
            f"{prefix}_p50_ms": self.pct(0.50),
            f"{prefix}_p99_ms": self.pct(0.99),
            f"{prefix}_cpu_us": self.cpu_per_request(),
            f"{prefix}_errors": float(self.errors),
        }
        if self.peak_rss_mb is not None:
            out[f"{prefix}_rss_mb"] = self.peak_rss_mb
        return out

    def line(self, name: str) -> str:
        return (
            f"{name:<28} {self.rate:8.0f} req/s   p50 {self.pct(0.50):6.1f} ms   p99 {self.pct(0.99):6.1f} ms"
            f"   {self.cpu_per_request():5.0f} us CPU/req   ({self.requests} ok, {self.errors} errors)"
        )


async def run_load(
    url: str,
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 1.0,
    cpu: Callable[[], float] | None = None,
    request: RequestFactory = melding_request,
    expect: int = 202,
    get: PathFactory | None = None,
    get_headers: dict[str, str] | None = None,
) -> LoadResult:
    """POST `request(n, i)` to `url` from each connection; with `get`, GET `url + get(n, i)` instead
    (with `get_headers`: a logged-in desk's session cookie)."""
    latencies: list[float] = []
    errors = 0
    counting = False
    deadline = 0.0

    async def one_connection(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            if get is not None:
                call = session.get(url + get(n, i), headers=get_headers)
            else:
                body, headers = request(n, i)
                call = session.post(url, data=body, headers=headers)
            start = time.perf_counter()  # the request is sent on entering `call`
            async with call as resp:
                await resp.read()
                ok = resp.status == expect
            if counting:
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + warmup + seconds
        tasks = [asyncio.create_task(one_connection(session, n)) for n in range(concurrency)]
        await asyncio.sleep(warmup)
        counting = True
        cpu_start = cpu() if cpu else 0.0
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu_used = cpu() - cpu_start if cpu else 0.0
    return LoadResult(len(latencies), errors, elapsed, latencies, cpu_used)


def median_result(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda r: r.rate)[len(results) // 2]
