"""A job is run by one worker only, also when a worker runs a job's first try inside the job
before it (workers.jobs._then: a process job delivers its melding's `melding.created` itself).

`serve` and two workers once delivered some meldingen twice (tests/test_processes.py
share_one_redis): one worker routed a melding, the other's sweep queued its deliver job again
at once and took it, and the first marked that job as running over the second's claim and
delivered as well; its unmark then freed the job while the second still ran it. Real Redis,
both stores, the case-system stand-in.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms

from gateway.config import Settings
from gateway.dedupe.service import route_in_store
from gateway.queue import MARKS_AFTER_JOB, WORKER_NAME, mark_running, unmark_running
from gateway.queue_reclaim import Mark, Taker, drop_marks, running_key, take_jobs
from tests.support.api import melding, post
from tests.support.http import Receiver
from tests.support.worker import run_worker, running_worker, until, worker_ctx
from workers import jobs
from workers.ctx import state

QUEUE = "gateway:test-exclusive"
IN_PROGRESS_MS = 70_000


async def test_a_delivery_a_peer_took_meanwhile_is_made_once(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    created = await post(client)
    peer = Taker(settings.queue_name, "host:peer", IN_PROGRESS_MS)
    taken: list[str] = []
    async with worker_ctx(settings) as ctx:
        store = state(ctx).store
        write_grouped = store.write_grouped

        async def routed_then_taken_by_the_peer(fn: Any, *args: Any, **kwargs: Any) -> Any:
            result = await write_grouped(fn, *args, **kwargs)
            if fn is route_in_store:  # committed: the peer's sweep queues the delivery, the peer takes it
                await jobs.sweep(ctx)
                queued = [j.decode() for j in await ctx["redis"].zrange(settings.queue_name, 0, -1)]
                queued = [j for j in queued if j.startswith("deliver:")]  # not this process job
                scores = await take_jobs(ctx["redis"], peer, queued, timestamp_ms())
                taken.extend(j for j, score in zip(queued, scores, strict=True) if score is not None)
            return result

        store.write_grouped = routed_then_taken_by_the_peer  # type: ignore[method-assign]
        outcome = await jobs.process_through(ctx, created["id"])

    [job_id] = taken
    assert outcome.endswith("deliver running elsewhere")
    assert receiver.created == []  # left to the peer that holds it
    assert await redis_client.get(in_progress_key_prefix + job_id) == b"host:peer"  # not freed under it
    # the peer dies before delivering: its job runs again (reclaim), once
    await redis_client.delete(in_progress_key_prefix + job_id)
    await run_worker(settings)
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]
    assert (await melding(client, created["id"]))["stage"] == "delivered"


async def test_a_mark_never_overrides_a_claim_and_only_its_holder_drops_it(
    redis_client: aioredis.Redis,
) -> None:
    now = timestamp_ms()
    await redis_client.zadd(QUEUE, {"taken": now, "marked": now})
    assert await take_jobs(redis_client, Taker(QUEUE, "host:1", IN_PROGRESS_MS), ["taken"], now) == [now]

    assert await mark_running(redis_client, "taken", 70, queue=QUEUE, worker="host:2") is None
    assert await redis_client.get(in_progress_key_prefix + "taken") == b"host:1"
    assert not await redis_client.exists(running_key(QUEUE, "host:2"))

    mark = await mark_running(redis_client, "marked", 70, queue=QUEUE, worker="host:2")
    assert mark is not None
    assert await redis_client.smembers(running_key(QUEUE, "host:2")) == {b"marked"}
    assert await take_jobs(redis_client, Taker(QUEUE, "host:1", IN_PROGRESS_MS), ["marked"], now) == [None]
    assert await mark_running(redis_client, "marked", 70, queue=QUEUE, worker=None) is None
    await unmark_running(redis_client, mark)
    assert not await redis_client.exists(in_progress_key_prefix + "marked")
    assert not await redis_client.exists(running_key(QUEUE, "host:2"))

    # a mark that lapsed, its job taken since: unmarking leaves the new claim alone
    lapsed = await mark_running(redis_client, "marked", 70, queue=QUEUE, worker=None)
    assert lapsed is not None
    await redis_client.delete(in_progress_key_prefix + "marked")
    assert await take_jobs(redis_client, Taker(QUEUE, "host:1", IN_PROGRESS_MS), ["marked"], now) == [now]
    await unmark_running(redis_client, lapsed)
    assert await redis_client.get(in_progress_key_prefix + "marked") == b"host:1"


async def test_two_workers_taking_the_same_jobs_at_once_take_each_once(redis_client: aioredis.Redis) -> None:
    now = timestamp_ms()
    ids = [f"job-{n}" for n in range(400)]
    await redis_client.zadd(QUEUE, dict.fromkeys(ids, now))

    async def take_all(worker: str, order: list[str]) -> list[str]:
        taker = Taker(QUEUE, worker, IN_PROGRESS_MS)
        got: list[str] = []
        for start in range(0, len(order), 10):  # as a poll hands them over: a few at a time
            chunk = order[start : start + 10]
            scores = await take_jobs(redis_client, taker, chunk, now)
            got += [j for j, score in zip(chunk, scores, strict=True) if score is not None]
        return got

    first_got, second_got = await asyncio.gather(take_all("host:1", ids), take_all("host:2", ids[::-1]))
    assert sorted(first_got + second_got) == sorted(ids)  # each job by exactly one of them
    assert not set(first_got) & set(second_got)


async def test_the_marks_of_a_jobs_steps_are_held_until_the_job_ends(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    """In a gateway Worker the deliver and notify steps run inside a process job leave their marks
    to the worker, which drops them with the job's own entry in its running set once the job
    ended (one round trip): until then no one else starts those jobs."""
    created = await post(client)
    pending: dict[str, list[Mark]] = {}
    async with worker_ctx(settings) as ctx:
        process_id = f"process:{created['id']}"
        ctx.update({MARKS_AFTER_JOB: pending, WORKER_NAME: "host:1", "job_id": process_id})
        await redis_client.sadd(running_key(settings.queue_name, "host:1"), process_id)
        outcome = await jobs.process_through(ctx, created["id"])

    assert "delivered" in outcome and len(receiver.created) == 1
    marks = pending[process_id]
    assert sorted(m.job_id.split(":")[0] for m in marks) == ["deliver", "notify"]
    for mark in marks:  # still held: the job has not ended
        assert await redis_client.get(in_progress_key_prefix + mark.job_id) == b"host:1"
    running = running_key(settings.queue_name, "host:1")
    assert await drop_marks(redis_client, marks, ended=(running, process_id)) == [True, True]
    assert not await redis_client.exists(*(in_progress_key_prefix + m.job_id for m in marks))
    assert not await redis_client.exists(running)


async def test_a_gateway_worker_leaves_no_mark_behind(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    created = await post(client)

    async def notified() -> bool:
        got = await melding(client, created["id"])
        return got["stage"] == "delivered" and not await redis_client.zcard(settings.queue_name)

    async with running_worker(settings):
        assert await until(notified)
        assert await until(lambda: _no_keys(redis_client, f"{in_progress_key_prefix}*"))
        assert await until(lambda: _no_keys(redis_client, running_key(settings.queue_name, "*")))
    assert len(receiver.created) == 1


async def _no_keys(redis_client: aioredis.Redis, pattern: str) -> bool:
    return not await redis_client.keys(pattern)
