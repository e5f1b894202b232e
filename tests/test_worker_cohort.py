"""Batching by construction: the process jobs a gateway Worker's poll takes set off together
(gateway.queue_cohort) and are routed in one classifier call (workers.cohort); each stays its own
arq job, so a melding that fails fails alone. (A worker killed mid-batch: tests/test_worker_killed.py;
two workers, no double delivery: tests/test_processes.py, tests/test_worker_exclusive.py, both
through `gateway worker`, whose Worker forms these cohorts.)"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from gateway.classify.router import Decision, HybridRouter, build_router
from gateway.classify.rules import Routing
from gateway.config import Settings
from gateway.queue import Heartbeat, Worker, stop_worker
from gateway.queue_cohort import Cohort, form, release, together
from tests.support.api import melding, post
from tests.support.http import Receiver
from tests.support.worker import until
from workers.cohort import RoutingBatch
from workers.settings import worker_options

STREETS = ("Budastraat", "Loofstraat", "Leiestraat", "Overleiestraat", "Grote Markt", "Doorniksestraat")


async def test_a_cohort_goes_on_once_each_job_started_or_ended() -> None:
    registry: dict[str, Cohort] = {}
    form(registry, ["a", "b", "c"])
    went_on: list[str] = []

    async def job(job_id: str) -> None:
        await together({"gateway_cohorts": registry, "job_id": job_id})
        went_on.append(job_id)

    a = asyncio.create_task(job("a"))
    b = asyncio.create_task(job("b"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert went_on == []  # c neither started nor ended: a and b wait for it
    release(registry, "c")  # c ended without starting (arq found it gone, say)
    await asyncio.gather(a, b)
    assert sorted(went_on) == ["a", "b"]
    assert registry == {}


async def test_a_cohort_waits_no_longer_than_its_patience() -> None:
    cohort = Cohort(["a", "never"], patience=0.05)
    await asyncio.wait_for(cohort.arrive("a"), timeout=2)


async def test_outside_a_gateway_worker_a_job_goes_on_at_once() -> None:
    await asyncio.wait_for(together({"job_id": "process:x"}), timeout=1)


class _Recording:
    """The rules router, counting its batches; a text with BOOM fails to route."""

    def __init__(self, inner: HybridRouter) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def decide_many(self, items: Sequence[tuple[str, str | None]]) -> list[Decision]:
        self.batches.append(len(items))
        if any("BOOM" in text for text, _ in items):
            raise RuntimeError("cannot route BOOM")
        return self.inner.decide_many(items)

    def route(self, text: str, subject: str | None = None) -> Routing:
        if "BOOM" in text:
            raise RuntimeError("cannot route BOOM")
        return self.inner.route(text, subject)


async def test_routings_asked_for_together_are_one_call_and_the_same_as_alone(settings: Settings) -> None:
    router = _Recording(await build_router(settings))
    texts = ["Losliggende tegel op het voetpad", "De straatlamp brandt niet", "Sluikstort aan de glasbol"]
    batch = RoutingBatch(router)  # type: ignore[arg-type]
    together_ = await asyncio.gather(*(batch.route(t) for t in texts))
    assert router.batches == [3]
    assert list(together_) == [router.inner.route(t).decision() for t in texts]
    # one that fails: the others still get theirs, it gets its own error
    results = await asyncio.gather(batch.route(texts[0]), batch.route("BOOM"), return_exceptions=True)
    assert results[0] == router.inner.route(texts[0]).decision()
    assert isinstance(results[1], RuntimeError)


async def test_a_poll_of_process_jobs_runs_as_one_batch_and_a_failing_melding_fails_alone(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, redis_client: aioredis.Redis
) -> None:
    settings = settings.model_copy(update={"sweep_grace": 3600.0})  # no sweep runs the failed one again
    bodies = [
        {
            "text": f"{'BOOM ' if n == 3 else ''}Losliggende tegel op het voetpad, melding {n}.",
            "reporter": {"email": f"r{n}@example.be"},
            "location": {"street": STREETS[n], "house_number": str(10 + n), "postcode": "8500"},
        }
        for n in range(6)
    ]
    created = [await post(client, body) for body in bodies]  # queued before the worker starts
    router = _Recording(await build_router(settings))
    opts = worker_options(settings, router=router)  # type: ignore[arg-type]
    opts["cron_jobs"] = []
    worker = Worker(
        **opts, heartbeat=Heartbeat(settings.worker_heartbeat_interval, settings.worker_heartbeat_ttl)
    )
    main = asyncio.create_task(worker.main())
    ok = [c for n, c in enumerate(created) if n != 3]

    async def delivered() -> bool:
        return [(await melding(client, c["id"]))["stage"] for c in ok] == ["delivered"] * len(ok)

    try:
        assert await until(delivered)
        assert await until(lambda: _queue_empty(redis_client, settings.queue_name))
    finally:
        await stop_worker(worker, main, grace=5.0)
    assert router.batches[0] == 6  # the whole poll routed in one call (it failed: each then alone)
    references = sorted(r["body"]["melding"]["reference"] for r in receiver.created)
    assert references == sorted(c["reference"] for c in ok)  # each once, the failed one not at all
    assert (await melding(client, created[3]["id"]))["stage"] == "received"  # left for the sweep


async def _queue_empty(redis_client: aioredis.Redis, queue: str) -> bool:
    return not await redis_client.zcard(queue)
