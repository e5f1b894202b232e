"""Worker benchmark: how many jobs/s one arq worker gets through.

1. arq itself, with a no-op job: arq's defaults (poll_delay 0.5 s, max_jobs 10)
   against the gateway's settings (`worker_poll_delay`, `worker_max_jobs`).
2. The real pipeline: N stored meldingen through one `gateway worker` process
   (route, deliver to a local webhook receiver, record the status change) to
   `delivered` in the store.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import redis as sync_redis
from aiohttp import web
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import ConnectionPool
from sqlalchemy import func, select

from bench.intake import REDIS_URL, ROOT, free_port
from gateway.config import Settings
from gateway.melding import Channel, MeldingDraft, Reporter, Stage
from gateway.queue import Heartbeat, enqueue_many, enqueue_process_many
from gateway.queue import Worker as GatewayWorker
from gateway.store import Store
from gateway.store.schema import meldingen

QUEUE = "bench:worker-queue"


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def arq_rate(jobs: int, *, gateway: bool = False, **options: Any) -> float:
    """`gateway`: the gateway's Worker (heartbeat, each job marked as the worker's so that a peer
    can free it should the worker die: gateway.queue_reclaim) instead of arq's."""
    pool = ArqRedis(ConnectionPool.from_url(REDIS_URL))
    await pool.flushdb()
    for start in range(0, jobs, 500):
        await enqueue_many(
            pool, QUEUE, [(f"noop:{n}", "noop", ()) for n in range(start, min(jobs, start + 500))]
        )
    if gateway:
        tuned = Settings()
        options["heartbeat"] = Heartbeat(tuned.worker_heartbeat_interval, tuned.worker_heartbeat_ttl)
    worker = (GatewayWorker if gateway else Worker)(
        functions=[noop],
        redis_pool=pool,
        queue_name=QUEUE,
        burst=True,
        handle_signals=False,
        keep_result=0,
        log_results=False,
        **options,
    )
    started = time.perf_counter()
    await worker.main()
    elapsed = time.perf_counter() - started
    await worker.close()
    await pool.flushdb()
    return jobs / elapsed


async def pipeline_rate(count: int) -> tuple[float, int]:
    received = 0

    async def receive(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.json_response({"case_id": str(received)})

    app = web.Application()
    app.router.add_post("/case-system", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/gateway.db",
            redis_url=REDIS_URL,
            data_dir=tmp,
            case_system_url=f"http://127.0.0.1:{port}/case-system",
            queue_name=QUEUE,
            log_level="WARNING",
        )
        store = Store(settings.database_url)
        await store.open()
        texts = [
            "Losliggende tegel op het voetpad",
            "De straatlamp brandt niet meer",
            "Sluikstort aan de glasbol",
        ]
        drafts = [
            MeldingDraft(
                channel=Channel.WEB,
                received_at=datetime.now(UTC),
                text=f"{texts[n % 3]} ({n})",
                reporter=Reporter(email="bench@example.be"),
            )
            for n in range(count + 1)
        ]
        ids = [s.id for s in await asyncio.gather(*(store.intake(d) for d in drafts))]
        pool = ArqRedis(ConnectionPool.from_url(REDIS_URL))
        await pool.flushdb()
        env = {
            **os.environ,
            **{
                f"GATEWAY_{k.upper()}": str(v)
                for k, v in settings.model_dump().items()
                if not isinstance(v, list)
            },
        }
        delivered = select(func.count()).where(meldingen.c.stage == Stage.DELIVERED.value)
        proc = subprocess.Popen([sys.executable, "-m", "gateway", "worker"], env=env, cwd=ROOT)
        try:
            # One melding first: the clock starts once the worker is up (on a new machine its
            # start-up trains the classifier, which is not what this measures).
            await enqueue_process_many(pool, QUEUE, ids[:1])
            while await store.read(lambda conn: conn.execute(delivered).scalar_one()) < 1:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {proc.returncode}")
                await asyncio.sleep(0.05)
            started = time.perf_counter()
            for start in range(1, count + 1, 500):
                await enqueue_process_many(pool, QUEUE, ids[start : start + 500])
            while True:
                done = await store.read(lambda conn: conn.execute(delivered).scalar_one())
                if done >= count + 1 or proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            await pool.flushdb()
            await pool.aclose()
            await store.close()
            await runner.cleanup()
    return (done - 1) / elapsed, received


def main(jobs: int = 3000, meldingen_count: int = 1000, **_: Any) -> None:
    tuned = Settings()
    default = asyncio.run(arq_rate(jobs))
    ours = asyncio.run(arq_rate(jobs, poll_delay=tuned.worker_poll_delay, max_jobs=tuned.worker_max_jobs))
    print(f"\narq worker, {jobs} no-op jobs, one worker:")
    print(f"{'arq defaults (poll_delay 0.5 s, max_jobs 10)':<50} {default:8.0f} jobs/s")
    label = f"gateway (poll_delay {tuned.worker_poll_delay} s, max_jobs {tuned.worker_max_jobs})"
    print(f"{label:<50} {ours:8.0f} jobs/s")
    marked = asyncio.run(
        arq_rate(jobs, gateway=True, poll_delay=tuned.worker_poll_delay, max_jobs=tuned.worker_max_jobs)
    )
    print(f"{'the same, gateway Worker (heartbeat, jobs marked)':<50} {marked:8.0f} jobs/s")
    rate, received = asyncio.run(pipeline_rate(meldingen_count))
    print(f"\npipeline, {meldingen_count} meldingen through one `gateway worker` (route, deliver, status):")
    print(f"{'delivered':<50} {rate:8.0f} meldingen/s ({received} webhooks)")
    sync_redis.Redis.from_url(REDIS_URL).flushdb()
