"""Two workers on one queue: a job stays in arq's queue while it runs, so both read the same head;
each takes past the jobs the other runs instead of waiting for them (issue 11: a second worker)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import func
from redis.asyncio import ConnectionPool

from gateway.queue import enqueue_many
from gateway.queue_reclaim import Taker, running_key, take_jobs
from tests.conftest import REDIS_URL
from tests.support.worker import queue_worker, until

QUEUE = "gateway:test-take"
IN_PROGRESS_MS = 60_000


async def test_a_take_passes_over_jobs_running_elsewhere_up_to_its_limit(
    redis_client: aioredis.Redis,
) -> None:
    now = timestamp_ms()
    ids = [f"j{n}" for n in range(5)]
    await redis_client.zadd(QUEUE, {job_id: now - 10 + n for n, job_id in enumerate(ids)})
    first = Taker(QUEUE, "host:1", IN_PROGRESS_MS)
    assert await take_jobs(redis_client, first, ids, now, limit=2) == [now - 10, now - 9, None, None, None]
    second = Taker(QUEUE, "host:2", IN_PROGRESS_MS)
    # the same head, read a moment later: j0 and j1 run on host:1, so host:2 takes j2 and j3
    assert await take_jobs(redis_client, second, ids, now, limit=2) == [None, None, now - 8, now - 7, None]
    assert await redis_client.get(in_progress_key_prefix + "j2") == b"host:2"
    assert await redis_client.smembers(running_key(QUEUE, "host:2")) == {b"j2", b"j3"}
    # no limit: every free job offered is taken, as before
    assert await take_jobs(redis_client, second, ids, now) == [None, None, None, None, now - 6]


async def _job(ctx: dict[str, Any], n: int) -> int:
    return n


async def test_a_worker_starts_the_jobs_behind_a_peers_running_ones(redis_client: aioredis.Redis) -> None:
    queue = ArqRedis(ConnectionPool.from_url(REDIS_URL))
    await enqueue_many(queue, QUEUE, [(f"j{n}", "job", (n,)) for n in range(6)])
    head = [job_id.decode() for job_id in await redis_client.zrange(QUEUE, 0, -1)]
    peer = Taker(QUEUE, "host:peer", IN_PROGRESS_MS)  # a peer runs the first three, long jobs
    assert None not in await take_jobs(redis_client, peer, head[:3], timestamp_ms())
    # as many slots as the peer's jobs at the head: it used to offer only those
    try:
        async with queue_worker([func(_job, name="job")], QUEUE, max_jobs=3) as worker:
            assert await until(lambda: _left(redis_client, 3), timeout=10)
    finally:
        await queue.aclose(close_connection_pool=True)
    assert worker.jobs_complete == 3 and worker.jobs_failed == 0
    assert [job_id.decode() for job_id in await redis_client.zrange(QUEUE, 0, -1)] == head[:3]  # the peer's


async def _left(redis_client: aioredis.Redis, count: int) -> bool:
    return await redis_client.zcard(QUEUE) == count
