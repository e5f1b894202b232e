"""gateway.queue_transactions: arq's MULTI/EXEC transactions go in the round trip the jobs share
(gateway.redis_batch), atomic still, with the replies and errors redis-py's own transaction
gives; a WATCHed transaction keeps a connection of its own. Real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.worker import func
from redis.asyncio import ConnectionPool
from redis.exceptions import ResponseError, WatchError

from gateway import redis_batch
from gateway.queue import enqueue_many
from gateway.queue_transactions import BatchedArqRedis, batched
from tests.conftest import REDIS_URL
from tests.support.worker import queue_worker, until

QUEUE = "gateway:test-transactions"


@pytest.fixture
async def client(redis_client: aioredis.Redis) -> AsyncIterator[BatchedArqRedis]:
    """A batched client on the test database (redis_client flushes it before and after)."""
    plain = ArqRedis(ConnectionPool.from_url(REDIS_URL))
    yield batched(plain)
    await plain.aclose(close_connection_pool=True)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command names of each round trip redis_batch makes."""
    trips: list[list[str]] = []
    execute = redis_batch._execute

    async def counted(redis: aioredis.Redis, commands: Any) -> list[Any]:
        trips.append([str(c.args[0]) for c in commands])
        return await execute(redis, commands)

    monkeypatch.setattr(redis_batch, "_execute", counted)
    return trips


async def _start_and_finish(redis: aioredis.Redis, n: int) -> list[Any]:
    """A job's start transaction (as arq's run_job) and its finish transaction (finish_job)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(f"job:{n}")
        pipe.incr(f"try:{n}")
        pipe.expire(f"try:{n}", 88400)
        started = await pipe.execute()
    async with redis.pipeline(transaction=True) as tr:
        tr.set(f"result:{n}", b"r", px=60_000)
        tr.zincrby("queue", 5, f"j{n}")
        tr.zrem("queue", f"gone{n}")
        tr.delete(f"try:{n}", f"job:{n}")
        finished = await tr.execute()
    return [*started, *finished]


async def test_concurrent_transactions_share_one_round_trip_and_reply_as_redis_pys_own(
    client: BatchedArqRedis, redis_client: aioredis.Redis, round_trips: list[list[str]]
) -> None:
    for n in range(4):
        await redis_client.set(f"job:{n}", f"def{n}")
    batched_replies = await asyncio.gather(*(_start_and_finish(client, n) for n in range(4)))
    # each transaction wrapped whole in MULTI ... EXEC, the four jobs' in one round trip each time
    starts = ["MULTI", "GET", "INCRBY", "EXPIRE", "EXEC"] * 4
    finishes = ["MULTI", "SET", "ZINCRBY", "ZREM", "DEL", "EXEC"] * 4
    assert round_trips == [starts, finishes]

    for n in range(4):  # the same again through redis-py's own transactions
        await redis_client.set(f"job:{n}", f"def{n}")
    await redis_client.delete("queue")
    own = [await _start_and_finish(redis_client, n) for n in range(4)]
    assert batched_replies == own
    assert batched_replies[1] == [b"def1", 1, True, True, 5.0, 0, 2]  # parsed as redis-py parses


async def test_an_error_inside_a_transaction_reaches_only_its_caller(
    client: BatchedArqRedis, redis_client: aioredis.Redis, round_trips: list[list[str]]
) -> None:
    await redis_client.set("text", "not a number")

    async def failing() -> list[Any]:
        async with client.pipeline(transaction=True) as tr:
            tr.incr("text")  # WRONGTYPE-like error at EXEC time: the others in it still ran
            tr.set("after", "1")
            return await tr.execute()

    async def fine() -> list[Any]:
        async with client.pipeline(transaction=True) as tr:
            tr.incr("counter")
            return await tr.execute()

    outcomes = await asyncio.gather(failing(), fine(), return_exceptions=True)
    assert isinstance(outcomes[0], ResponseError)
    assert outcomes[1] == [1]
    assert await redis_client.get("after") == b"1"  # as in redis-py: EXEC ran the rest
    assert len(round_trips) == 1

    async with client.pipeline(transaction=True) as tr:  # unchecked: the error is a reply
        tr.incr("text")
        tr.incr("counter")
        replies = await tr.execute(raise_on_error=False)
    assert isinstance(replies[0], ResponseError) and replies[1] == 2


async def test_a_watched_transaction_keeps_its_own_connection_and_arqs_refusal(
    client: BatchedArqRedis, redis_client: aioredis.Redis, round_trips: list[list[str]]
) -> None:
    assert await client.enqueue_job("noop", _job_id="once", _queue_name=QUEUE) is not None
    assert await client.enqueue_job("noop", _job_id="once", _queue_name=QUEUE) is None  # arq refuses
    assert round_trips == []  # WATCH: not in the shared round trip

    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch("watched")
        await redis_client.set("watched", "changed meanwhile")  # another client
        pipe.multi()
        pipe.set("watched", "mine")
        with pytest.raises(WatchError):
            await pipe.execute()
    assert await redis_client.get("watched") == b"changed meanwhile"


async def _job(ctx: dict[str, Any], n: int) -> int:
    await asyncio.sleep(0.01)
    return n


async def test_a_gateway_worker_starts_and_finishes_its_jobs_in_shared_round_trips(
    redis_client: aioredis.Redis, round_trips: list[list[str]]
) -> None:
    queue = ArqRedis(ConnectionPool.from_url(REDIS_URL))
    await enqueue_many(queue, QUEUE, [(f"j{n}", "job", (n,)) for n in range(20)])
    try:
        async with queue_worker([func(_job, name="job")], QUEUE, max_jobs=50) as worker:
            assert await until(lambda: _queue_empty(redis_client), timeout=10)
    finally:
        await queue.aclose(close_connection_pool=True)
    assert worker.jobs_complete == 20 and worker.jobs_failed == 0
    for n in range(20):  # finished as arq finishes a job: nothing of it left
        for prefix in (job_key_prefix, retry_key_prefix, in_progress_key_prefix):
            assert not await redis_client.exists(f"{prefix}j{n}")
    transactions = sum(trip.count("MULTI") for trip in round_trips)
    assert transactions == 40  # a start and a finish per job, all through the shared round trips
    assert len(round_trips) < 30  # the jobs running side by side shared them


async def _queue_empty(redis_client: aioredis.Redis) -> bool:
    return await redis_client.zcard(QUEUE) == 0
