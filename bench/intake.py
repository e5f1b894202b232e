"""Intake benchmark: the real `POST /api/v1/meldingen` path against the bare baseline, same run.

Each server runs in its own process (`gateway serve` with its durable store
write; `bench.baseline`), one at a time, under the same closed-loop load of 50
connections with a fresh Idempotency-Key per request. Rounds alternate so that
drift of the machine hits both alike; the median round of each is reported.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from bench.cpu_share import process_cpu
from bench.load import LoadResult, median_result, run_load

ROOT = Path(__file__).resolve().parent.parent
# Flushed by every benchmark: a database of its own (GATEWAY_BENCH_REDIS_URL), never the gateway's.
REDIS_URL = os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc): robust to other load on the machine."""
    return process_cpu(Path(f"/proc/{pid}/stat").read_text())


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process so far (VmHWM in /proc/<pid>/status), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@contextmanager
def server(cmd: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_http(port, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def gateway_cmd(port: int, database_url: str, data_dir: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "GATEWAY_HTTP_PORT": str(port),
        "GATEWAY_SMTP_PORT": str(free_port()),
        "GATEWAY_HTTP_HOST": "127.0.0.1",
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_REDIS_URL": REDIS_URL,
        "GATEWAY_DATA_DIR": data_dir,
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_QUEUE_NAME": "bench:queue",
    }
    return [sys.executable, "-m", "gateway", "serve"], env


def measure(
    cmd: list[str], env: dict[str, str], port: int, *, concurrency: int, seconds: float
) -> LoadResult:
    redis.Redis.from_url(REDIS_URL).flushdb()
    with server(cmd, port, env) as proc:
        url = f"http://127.0.0.1:{port}/api/v1/meldingen"
        result = asyncio.run(
            run_load(url, concurrency=concurrency, seconds=seconds, cpu=lambda: cpu_seconds(proc.pid))
        )
        result.peak_rss_mb = peak_rss_mb(proc.pid)  # read while it lives: /proc forgets it at exit
        return result


def baseline_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.baseline", "--port", str(port), "--redis", REDIS_URL]


def main(
    seconds: float = 8.0,
    concurrency: int = 50,
    rounds: int = 3,
    database_url: str | None = None,
    quick: bool = False,
    **_: Any,
) -> dict[str, float]:
    if quick:
        seconds, rounds = min(seconds, 3.0), 1
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        base_port, gw_port = free_port(), free_port()
        store = database_url or f"sqlite:///{tmp}/gateway.db"
        gw_cmd, gw_env = gateway_cmd(gw_port, store, f"{tmp}/data")
        baseline, gateway = [], []
        for n in range(rounds):
            baseline.append(
                measure(
                    baseline_cmd(base_port),
                    dict(os.environ),
                    base_port,
                    concurrency=concurrency,
                    seconds=seconds,
                )
            )
            gateway.append(measure(gw_cmd, gw_env, gw_port, concurrency=concurrency, seconds=seconds))
            print(
                f"  round {n + 1}/{rounds}: baseline {baseline[-1].rate:.0f}/s, "
                f"gateway {gateway[-1].rate:.0f}/s",
                flush=True,
            )
        redis.Redis.from_url(REDIS_URL).flushdb()
    b, g = median_result(baseline), median_result(gateway)
    store_name = "postgresql" if store.startswith("postgres") else "sqlite"
    print(
        f"\nintake, {concurrency} concurrent connections, {seconds:.0f} s x {rounds} rounds (median round):"
    )
    print(b.line("baseline (parse+SETNX+arq)"))
    print(g.line(f"gateway ({store_name})"))
    print(
        f"ratio gateway/baseline: {g.rate / b.rate:.2f}x (target >= 0.80), gateway p99 {g.pct(0.99):.1f} ms "
        f"(target < 100 ms)"
    )
    return {
        **b.figures("intake_baseline"),
        **g.figures("intake_gateway"),
        "intake_ratio": g.rate / b.rate,
    }
