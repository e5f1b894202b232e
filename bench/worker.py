"""Worker benchmark: how many jobs/s and meldingen/s `gateway worker` gets through.

1. arq itself, with a no-op job: arq's defaults (poll_delay 0.5 s, max_jobs 10)
   against the gateway's settings (`worker_poll_delay`, `worker_max_jobs`).
2. The real pipeline: N stored meldingen through `gateway worker` processes (route, locate,
   dedupe, deliver to a local webhook receiver, record the status change and the
   notification decision) until all are `delivered` in the store: one worker on SQLite, one
   on PostgreSQL, two on PostgreSQL. Per run: meldingen/s, the workers' CPU time per melding
   (what other load on the machine distorts least) and their peak resident memory (VmHWM).

`main(**options)` prints the figures and returns them as one flat dict (BENCHMARKS.md).
PostgreSQL: a database `GATEWAY_BENCH_PG_DB` (gateway_bench_worker) created afresh on the server of
`GATEWAY_BENCH_PG_ADMIN_URL`; without a server the PostgreSQL figures are None.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis as sync_redis
from aiohttp import web
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import ConnectionPool
from sqlalchemy import func, select, text

from bench.cpu_share import Shares, shares, snapshot
from bench.intake import REDIS_URL, ROOT, free_port, peak_rss_mb
from gateway.config import Settings
from gateway.melding import Channel, MeldingDraft, Reporter, Stage
from gateway.queue import Heartbeat, enqueue_many, enqueue_process_many, live_workers
from gateway.queue import Worker as GatewayWorker
from gateway.store import Store
from gateway.store.schema import meldingen

QUEUE = "bench:worker-queue"
PG_ADMIN_URL = os.environ.get("GATEWAY_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("GATEWAY_BENCH_PG_DB", "gateway_bench_worker")
TEXTS = (
    "Losliggende tegel op het voetpad",
    "De straatlamp brandt niet meer",
    "Sluikstort aan de glasbol",
)


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


@dataclass(frozen=True)
class PipelineRun:
    rate: float  # meldingen/s, all workers together
    cpu_ms: float  # the workers' CPU time (user + system) per melding
    rss_mb: float  # the largest peak resident set of a worker process
    webhooks: int
    shares: Shares = Shares()  # every process's CPU per melding, and the machine's idle share


def _redis_pids() -> list[int]:
    """redis-server's pid, when it runs on this machine (its CPU is read from /proc)."""
    pid = int(sync_redis.Redis.from_url(REDIS_URL).info("server").get("process_id", 0))
    return [pid] if pid and Path(f"/proc/{pid}").exists() else []


async def _backend_pids(store: Store) -> set[int]:
    """The PostgreSQL backends connected to the bench database (the workers' and the bench's)."""
    if store.dialect != "postgresql":
        return set()
    mine = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return set(await store.read(lambda conn: list(conn.execute(mine).scalars())))


@asynccontextmanager
async def case_system_receiver() -> AsyncIterator[tuple[str, list[int]]]:
    """A case-system webhook that accepts everything; yields its URL and a one-item counter."""
    received = [0]

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        received[0] += 1
        return web.json_response({"case_id": str(received[0])})

    app = web.Application()
    app.router.add_post("/case-system", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/case-system", received
    finally:
        await runner.cleanup()


async def fresh_pg_database() -> str | None:
    """A new, empty bench database on the PostgreSQL server; None when there is none."""
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"(no PostgreSQL at {PG_ADMIN_URL}: {exc}; PostgreSQL figures skipped)")
        return None
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rpartition("/")[0] + "/" + PG_DB


async def pipeline_run(count: int, database_url: str, workers: int = 1) -> PipelineRun:
    """`count` meldingen (stored first) through `workers` worker processes, timed from the moment
    every worker is polling and a first melding went through (a worker's start-up loads, or on
    a new machine trains, the routing model: not what this measures)."""
    async with case_system_receiver() as (url, received):
        with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
            settings = Settings(
                database_url=database_url.replace("{tmp}", tmp),
                redis_url=REDIS_URL,
                data_dir=tmp,
                case_system_url=url,
                queue_name=QUEUE,
                log_level="WARNING",
            )
            store = Store(settings.database_url)
            await store.open()
            try:
                return await _run(store, settings, count, workers, received)
            finally:
                await store.close()


async def _run(
    store: Store, settings: Settings, count: int, workers: int, received: list[int]
) -> PipelineRun:
    now = datetime.now(UTC)
    drafts = [
        MeldingDraft(
            channel=Channel.WEB,
            received_at=now,
            text=f"{TEXTS[n % 3]} ({n})",
            reporter=Reporter(email="bench@example.be"),
        )
        for n in range(count + 1)
    ]
    ids = [s.id for s in await asyncio.gather(*(store.intake(d) for d in drafts))]
    delivered = select(func.count()).where(meldingen.c.stage == Stage.DELIVERED.value)

    async def delivered_now() -> int:
        return await store.read(lambda conn: conn.execute(delivered).scalar_one())

    before = await delivered_now()  # a given database may hold an earlier run's meldingen

    async def done() -> int:
        return await delivered_now() - before

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
    procs = [
        subprocess.Popen([sys.executable, "-m", "gateway", "worker"], env=env, cwd=ROOT)
        for _ in range(workers)
    ]

    def check() -> None:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}")

    try:
        while await live_workers(pool, QUEUE, Settings().worker_heartbeat_ttl) < workers:
            check()
            await asyncio.sleep(0.05)
        await enqueue_process_many(pool, QUEUE, ids[:1])
        while await done() < 1:
            check()
            await asyncio.sleep(0.05)
        pids = [p.pid for p in procs]
        backends, redis_pids = await _backend_pids(store), _redis_pids()
        cpu_from = snapshot(pids, backends, redis_pids)
        started = time.perf_counter()
        for start in range(1, count + 1, 500):
            await enqueue_process_many(pool, QUEUE, ids[start : start + 500])
        while (finished := await done()) < count + 1:
            check()
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        backends |= await _backend_pids(store)
        spent = shares(cpu_from, snapshot(pids, backends, redis_pids), finished - 1)
        rss = max(peak_rss_mb(p.pid) for p in procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        await pool.flushdb()
        await pool.aclose()
    workers_ms = spent.per_melding_ms["worker"]
    return PipelineRun((finished - 1) / elapsed, workers_ms, rss, received[0], spent)


LABELS = (
    ("sqlite_1w", "1 worker, SQLite"),
    ("pg_1w", "1 worker, PostgreSQL"),
    ("pg_2w", "2 workers, PostgreSQL"),
)


def main(
    jobs: int = 3000,
    meldingen_count: int = 2000,
    quick: bool = False,
    database_url: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Print the figures and return them. `quick`: small counts, about 20 s in all.
    `database_url`: a PostgreSQL database for the PostgreSQL runs (it must be empty; by default
    the bench creates its own)."""
    if quick:
        jobs, meldingen_count = 1000, 300
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

    runs: dict[str, PipelineRun | None] = {
        "sqlite_1w": asyncio.run(pipeline_run(meldingen_count, "sqlite:///{tmp}/gateway.db", 1))
    }
    pg_url = database_url if database_url and database_url.startswith("postgres") else None
    for key, workers in (("pg_1w", 1), ("pg_2w", 2)):
        url = pg_url or asyncio.run(fresh_pg_database())
        runs[key] = asyncio.run(pipeline_run(meldingen_count, url, workers)) if url else None
    print(f"\npipeline, {meldingen_count} meldingen (route, locate, dedupe, deliver, status, notification):")
    print(f"{'':<28} {'meldingen/s':>12} {'CPU/melding':>12} {'peak RSS/worker':>16}")
    for key, label in LABELS:
        run = runs[key]
        if run is not None:
            print(f"{label:<28} {run.rate:12.0f} {run.cpu_ms:10.2f} ms {run.rss_mb:13.0f} MB")
    print("\nCPU per melding by process (ms; the machine's idle share during the run):")
    print(f"{'':<28} {'workers':>8} {'postgres':>9} {'redis':>6} {'bench':>6} {'all':>6} {'idle':>6}")
    for key, label in LABELS:
        run = runs[key]
        if run is not None:
            part = run.shares.per_melding_ms
            print(
                f"{label:<28} {part['worker']:8.2f} {part['postgres']:9.2f} {part['redis']:6.2f} "
                f"{part['bench']:6.2f} {run.shares.all_ms:6.2f} {run.shares.idle_pct:5.0f} %"
            )
    one, two = runs["pg_1w"], runs["pg_2w"]
    gain = 100 * (two.rate / one.rate - 1) if one and two else None
    if gain is not None:
        print(f"{'second worker adds':<28} {gain:11.0f} %")
    sync_redis.Redis.from_url(REDIS_URL).flushdb()

    def figure(key: str, attr: str) -> float | None:
        run = runs[key]
        return round(getattr(run, attr), 2) if run is not None else None

    def shared(key: str, of: Callable[[Shares], float]) -> float | None:
        run = runs[key]
        return round(of(run.shares), 2) if run is not None else None

    return {
        "arq_default_jobs_s": round(default),
        "arq_noop_jobs_s": round(ours),
        "arq_gateway_worker_jobs_s": round(marked),
        "pipeline_meldingen": meldingen_count,
        "pipeline_sqlite_1w": figure("sqlite_1w", "rate"),
        "pipeline_pg_1w": figure("pg_1w", "rate"),
        "pipeline_pg_2w": figure("pg_2w", "rate"),
        "second_worker_gain_pct": round(gain, 1) if gain is not None else None,
        "worker_cpu_ms_sqlite_1w": figure("sqlite_1w", "cpu_ms"),
        "worker_cpu_ms_pg_1w": figure("pg_1w", "cpu_ms"),
        "worker_cpu_ms_pg_2w": figure("pg_2w", "cpu_ms"),
        **{f"all_cpu_ms_{key}": shared(key, lambda s: s.all_ms) for key, _ in LABELS},
        **{f"pg_cpu_ms_{key}": shared(key, lambda s: s.per_melding_ms["postgres"]) for key, _ in LABELS[1:]},
        **{f"redis_cpu_ms_{key}": shared(key, lambda s: s.per_melding_ms["redis"]) for key, _ in LABELS},
        **{f"idle_pct_{key}": shared(key, lambda s: s.idle_pct) for key, _ in LABELS},
        "worker_rss_mb": max((r.rss_mb for r in runs.values() if r is not None), default=None),
    }
