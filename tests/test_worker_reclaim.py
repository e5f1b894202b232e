"""A dead worker's jobs run again at once (gateway.queue_reclaim), on a real Redis.

The process-level proof (a worker SIGKILLed mid-burst) is tests/test_worker_killed.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import func
from redis.asyncio import ConnectionPool

from gateway.queue import Heartbeat, Worker, enqueue_many, live_workers
from gateway.queue_reclaim import reclaim_dead_workers, running_key, workers_key
from tests.conftest import REDIS_URL
from tests.support.http import free_port
from tests.support.worker import queue_worker, until

QUEUE = "gateway:test-reclaim"
IN_PROGRESS_MS = 70_000  # arq's: job_timeout (60 s) + 10 s


async def test_reclaim_frees_only_what_a_dead_worker_still_holds(redis_client: aioredis.Redis) -> None:
    now = timestamp_ms()
    await redis_client.zadd(workers_key(QUEUE), {"host:1": now, "host:2": now - 30_000})
    await redis_client.sadd(running_key(QUEUE, "host:2"), "j-held", "j-retaken", "j-finished")
    await redis_client.sadd(running_key(QUEUE, "host:1"), "j-alive")
    await redis_client.psetex(in_progress_key_prefix + "j-held", IN_PROGRESS_MS, "host:2")
    await redis_client.psetex(in_progress_key_prefix + "j-retaken", IN_PROGRESS_MS, "host:1")  # freed before
    await redis_client.psetex(in_progress_key_prefix + "j-alive", IN_PROGRESS_MS, "host:1")

    freed = await reclaim_dead_workers(redis_client, QUEUE, now - 10_000)

    assert freed == {"host:2": 1}
    assert not await redis_client.exists(in_progress_key_prefix + "j-held")
    assert await redis_client.get(in_progress_key_prefix + "j-retaken") == b"host:1"  # not the dead one's
    assert await redis_client.get(in_progress_key_prefix + "j-alive") == b"host:1"
    assert not await redis_client.exists(running_key(QUEUE, "host:2"))
    assert await redis_client.zrange(workers_key(QUEUE), 0, -1) == [b"host:1"]
    assert await live_workers(redis_client, QUEUE, ttl=10) == 1
    # nothing dead any more: a second pass (the next live worker's beat) finds nothing
    assert await reclaim_dead_workers(redis_client, QUEUE, now - 10_000) == {}


@asynccontextmanager
async def gateway_worker(functions: list[Any], heartbeat: Heartbeat) -> AsyncIterator[Worker]:
    async with queue_worker(functions, QUEUE, job_timeout=60, heartbeat=heartbeat) as worker:
        yield worker


async def test_a_worker_marks_its_jobs_and_runs_a_dead_peers_jobs_at_once(
    redis_client: aioredis.Redis,
) -> None:
    ran: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def job(ctx: dict[str, Any], name: str) -> None:
        ran.append(name)
        if name == "held":
            holding.set()
            await release.wait()

    queue = ArqRedis(connection_pool=redis_client.connection_pool, default_queue_name=QUEUE)
    # A worker SIGKILLed while running "orphan": arq's in-progress key (which would lock the job
    # for 70 s), its name in it and in its running set, and a heartbeat that stopped 30 s ago.
    await enqueue_many(queue, QUEUE, [("orphan", "job", ("orphan",))])
    await redis_client.psetex(in_progress_key_prefix + "orphan", IN_PROGRESS_MS, "ghost:99")
    await redis_client.sadd(running_key(QUEUE, "ghost:99"), "orphan")
    await redis_client.zadd(workers_key(QUEUE), {"ghost:99": timestamp_ms() - 30_000})

    async with gateway_worker([func(job, name="job")], Heartbeat(interval=0.1, ttl=1.0)) as worker:
        assert await until(lambda: _ran(ran, "orphan"), timeout=10), "the dead worker's job never ran again"
        assert not await redis_client.exists(running_key(QUEUE, "ghost:99"))

        # While this worker runs a job, the job carries its name, so a peer could free it.
        await enqueue_many(queue, QUEUE, [("held", "job", ("held",))])
        await asyncio.wait_for(holding.wait(), timeout=10)
        assert await redis_client.get(in_progress_key_prefix + "held") == worker.name.encode()
        assert await redis_client.smembers(running_key(QUEUE, worker.name)) == {b"held"}
        release.set()
        assert await until(lambda: _not_running(redis_client, worker.name), timeout=10)
    assert ran == ["orphan", "held"]
    # closed cleanly: neither a heartbeat nor a running set left for a peer to reclaim
    assert not await redis_client.exists(running_key(QUEUE, worker.name))
    assert await redis_client.zscore(workers_key(QUEUE), worker.name) is None


async def _ran(ran: list[str], name: str) -> bool:
    return name in ran


async def _not_running(redis_client: aioredis.Redis, name: str) -> bool:
    return not await redis_client.smembers(running_key(QUEUE, name))


async def _noop(ctx: dict[str, Any]) -> None:
    return None


def _noop_worker(heartbeat: Heartbeat, **options: Any) -> Worker:
    """A gateway Worker with one no-op function on the test queue (its polls are what is tested)."""
    return Worker(
        functions=[func(_noop, name="noop")],
        redis_settings=RedisSettings.from_dsn(REDIS_URL),
        queue_name=QUEUE,
        handle_signals=False,
        heartbeat=heartbeat,
        **options,
    )


async def test_a_poll_answered_before_a_job_met_the_outage_does_not_end_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job cut off by Redis going away while the worker's poll had its answers already: that
    poll's success says nothing of Redis now. The outage is told once and ends with a later poll,
    not at once ("reachable again after 0.0 s", then a second "unavailable")."""

    worker = _noop_worker(Heartbeat(1.0, 5.0))
    calls = 0

    async def poll_once() -> BaseException | None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the job's round trip fails while this poll's own went through
            worker._note_down(ConnectionError("Connect call failed"))
        return None

    worker._poll_once = poll_once  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="gateway"):
        await worker._poll_iteration()
        assert worker._down_since is not None  # still down: the poll began before the outage
        await worker._poll_iteration()  # a poll begun after it, answered: Redis is back
    assert worker._down_since is None
    told = [r.getMessage() for r in caplog.records]
    assert sum("redis unavailable" in m for m in told) == 1
    assert sum("reachable again" in m for m in told) == 1


async def test_a_poll_with_every_slot_busy_does_not_end_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    """A poll of a worker whose slots are all taken (arq then reads no due jobs) and whose
    heartbeat is not due asks Redis nothing: its success must not say that Redis is back."""

    worker = _noop_worker(Heartbeat(60.0, 120.0), max_jobs=2)
    worker._pool = ArqRedis(ConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}"))  # nobody there
    try:
        worker.job_counter = worker.max_jobs  # every slot busy
        worker._last_health_check = time.time()  # arq's health record and our beat not due
        worker._last_beat = time.monotonic()
        worker._note_down(ConnectionError("Connect call failed"))  # a job met the outage
        await asyncio.sleep(0.01)
        with caplog.at_level(logging.INFO, logger="gateway"):
            await worker._poll_iteration()
        assert worker._down_since is not None
        assert not any("reachable again" in r.getMessage() for r in caplog.records)
    finally:
        await worker._pool.aclose()
