"""Memory: peak resident set (VmHWM) of `gateway serve` under the intake load and of `gateway worker`.

1. `gateway serve` under the closed-loop intake load of bench/intake.py (50 connections, fresh
   Idempotency-Keys), beside the bare aiohttp baseline under the same load: VmHWM read from
   /proc/<pid>/status just before each process is stopped.
2. `gateway worker` over the store that intake filled: the queue is emptied and the `process`
   jobs of the first `meldingen_count` meldingen enqueued again (behind thousands of queued
   `process` jobs a delivery would come only after all of them); it routes (rules and the spaCy
   model, loaded at start), locates, dedupes and delivers them to a local webhook receiver,
   then its VmHWM is read.

Target from issue 11: every process under 500 MB resident.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from sqlalchemy import func, select

from bench.intake import REDIS_URL, ROOT, baseline_cmd, free_port, gateway_cmd, measure, peak_rss_mb
from bench.worker import case_system_receiver
from gateway.melding import Stage
from gateway.queue import enqueue_process_many
from gateway.store import Store
from gateway.store.schema import meldingen

WORKER_TIMEOUT = 300.0  # seconds; a first start without a model trains one (a minute or more)


async def worker_peak(env: dict[str, str], database_url: str, wanted: int) -> tuple[float, int]:
    """Run one `gateway worker` until `wanted` meldingen are delivered: (its VmHWM in MB, delivered)."""
    async with case_system_receiver() as (url, _received):
        store = Store(database_url)
        await store.open()
        first = select(meldingen.c.id).order_by(meldingen.c.received_at).limit(wanted)
        ids = await store.read(lambda conn: [row.id for row in conn.execute(first)])
        wanted = len(ids)
        pool = ArqRedis(ConnectionPool.from_url(REDIS_URL))
        await pool.flushdb()
        await enqueue_process_many(pool, env["GATEWAY_QUEUE_NAME"], ids)
        delivered_query = select(func.count()).where(meldingen.c.stage == Stage.DELIVERED.value)
        env = {**env, "GATEWAY_CASE_SYSTEM_URL": url}
        proc = subprocess.Popen([sys.executable, "-m", "gateway", "worker"], env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + WORKER_TIMEOUT
            delivered = 0
            while delivered < wanted and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"gateway worker exited with {proc.returncode}")
                await asyncio.sleep(0.2)
                delivered = await store.read(lambda conn: conn.execute(delivered_query).scalar_one())
            return peak_rss_mb(proc.pid), delivered
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            await store.close()
            await pool.flushdb()
            await pool.aclose()


def main(
    seconds: float = 8.0,
    concurrency: int = 50,
    database_url: str | None = None,
    quick: bool = False,
    meldingen_count: int = 1000,
    **_: Any,
) -> dict[str, float]:
    if quick:
        seconds, meldingen_count = min(seconds, 2.0), 200
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        store = database_url or f"sqlite:///{tmp}/gateway.db"
        base_port, gw_port = free_port(), free_port()
        base = measure(
            baseline_cmd(base_port), dict(os.environ), base_port, concurrency=concurrency, seconds=seconds
        )
        gw_cmd, gw_env = gateway_cmd(gw_port, store, f"{tmp}/data")
        serve = measure(gw_cmd, gw_env, gw_port, concurrency=concurrency, seconds=seconds)
        worker_mb, delivered = asyncio.run(worker_peak(gw_env, store, meldingen_count))
    assert base.peak_rss_mb is not None and serve.peak_rss_mb is not None
    print(f"\nmemory, peak resident set (VmHWM); intake: {concurrency} connections for {seconds:.0f} s")
    print(f"{'baseline (parse+SETNX+arq)':<34} {base.peak_rss_mb:7.1f} MB ({base.requests} requests)")
    print(f"{'gateway serve':<34} {serve.peak_rss_mb:7.1f} MB ({serve.requests} meldingen)")
    print(f"{'gateway worker':<34} {worker_mb:7.1f} MB ({delivered} meldingen delivered)  (target < 500 MB)")
    return {
        "memory_baseline_mb": base.peak_rss_mb,
        "memory_serve_mb": serve.peak_rss_mb,
        "memory_worker_mb": worker_mb,
        "memory_worker_delivered": float(delivered),
    }
