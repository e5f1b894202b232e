"""The arq worker and the `gateway` command, run by the tests against their own store and Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.asyncio import ConnectionPool

from gateway.config import Settings
from gateway.queue import Heartbeat, stop_worker
from gateway.queue import Worker as QueueWorker
from tests.conftest import REDIS_URL
from tests.support.data import ROOT
from workers import jobs
from workers.settings import worker_options


async def run_worker(settings: Settings) -> None:
    """Run a burst worker: it returns once the queue (including deferred retries) is empty."""
    opts = worker_options(settings)
    opts["cron_jobs"] = []  # tests call the sweep themselves
    worker = Worker(**opts, burst=True)
    try:
        await asyncio.wait_for(worker.main(), timeout=60)
    finally:
        await worker.close()


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    """A worker running beside the test until the block ends (for tests that move the clock
    while jobs wait deferred; see the `clock` fixture)."""
    opts = worker_options(settings)
    opts["cron_jobs"] = []
    worker = QueueWorker(
        **opts, heartbeat=Heartbeat(settings.worker_heartbeat_interval, settings.worker_heartbeat_ttl)
    )
    main = asyncio.create_task(worker.main())
    try:
        yield
    finally:
        await stop_worker(worker, main, grace=5.0)


@asynccontextmanager
async def queue_worker(functions: list[Any], queue: str, **options: Any) -> AsyncIterator[QueueWorker]:
    """A gateway Worker running `functions` from `queue` on the test Redis, in this process, until
    the block ends (`options` over the defaults: a quick poll, no results kept, a 1 s beat)."""
    defaults: dict[str, Any] = {
        "poll_delay": 0.02,
        "keep_result": 0,
        "handle_signals": False,
        "heartbeat": Heartbeat(1.0, 5.0),
    }
    worker = QueueWorker(
        functions=functions,
        redis_settings=RedisSettings.from_dsn(REDIS_URL),
        queue_name=queue,
        **(defaults | options),
    )
    main = asyncio.create_task(worker.main())
    try:
        yield worker
    finally:
        await stop_worker(worker, main, grace=5.0)


async def settled(redis: Any, queue: str, job_id: str, timeout: float = 20.0) -> float | None:
    """Wait until a worker is done with this job for now: None when it finished (or never was
    queued), else the seconds (by the moved clock) until it is due again."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if not await redis.exists(in_progress_key_prefix + job_id):
            score = await redis.zscore(queue, job_id)
            if score is None:
                return None
            if score > timestamp_ms():
                return score / 1000 - timestamp_ms() / 1000
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} still running or due after {timeout} s")


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` real seconds pass (False)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await condition():
            return True
        await asyncio.sleep(0.02)
    return False


@asynccontextmanager
async def worker_ctx(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """The ctx an arq worker gives its jobs, built by the worker's own start-up hook."""
    ctx: dict[str, Any] = {"redis": ArqRedis(ConnectionPool.from_url(settings.redis_url)), "job_try": 1}
    opts = worker_options(settings)
    await opts["on_startup"](ctx)
    try:
        yield ctx
    finally:
        await opts["on_shutdown"](ctx)
        await ctx["redis"].aclose(close_connection_pool=True)  # the pool is the ctx's own


async def sweep(settings: Settings) -> dict[str, int]:
    """One run of the worker's sweep (its cron job), as the worker would run it."""
    async with worker_ctx(settings) as ctx:
        return await jobs.sweep(ctx)


def gateway_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `gateway` command against the test's store and Redis."""
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_REDIS_URL": settings.redis_url,
        "GATEWAY_QUEUE_NAME": settings.queue_name,
        "GATEWAY_LOG_FORMAT": "text",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
