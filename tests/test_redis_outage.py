"""Fault test: Redis killed during a burst and started again empty, under `serve` and two workers.

What the README promises: no process exits, nothing accepted is lost (the sweep enqueues what
Redis forgot), nothing is delivered twice, and the shutdown afterwards is clean.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.config import Settings
from tests.support.http import SECRET, Receiver, free_port
from tests.support.processes import (
    assert_clean_shutdown,
    post_burst,
    private_redis,
    process,
    settings_env,
    until_delivered,
    until_drained,
    wait_for,
    wait_healthy,
)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_redis_killed_and_restarted_empty_during_a_burst(
    settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with private_redis(tmp_path / "redis") as server:
        env = settings_env(
            settings.model_copy(
                update={
                    "redis_url": server.url,
                    "http_port": port,
                    "http_host": "127.0.0.1",
                    "smtp_host": "127.0.0.1",
                    "case_system_secret": SECRET,
                    # the sweep runs every second and takes what waited 2 s (a job in flight is younger)
                    "sweep_interval": 1,
                    "sweep_grace": 2.0,
                    "log_format": "json",
                }
            )
        )
        logs = {name: tmp_path / f"{name}.log" for name in ("serve", "worker1", "worker2")}
        with (
            process(["serve"], env, logs["serve"]) as serve,
            process(["worker"], env, logs["worker1"]) as worker1,
            process(["worker"], env, logs["worker2"]) as worker2,
        ):
            procs = {"serve": serve, "worker1": worker1, "worker2": worker2}
            await wait_healthy(base, serve, logs["serve"])

            async def consuming() -> bool:
                return all("worker consuming" in logs[w].read_text() for w in ("worker1", "worker2"))

            await wait_for(consuming, timeout=30, what="both workers to start")
            async with aiohttp.ClientSession() as session:
                refs = await post_burst(session, base, 0, 60)

                async def some_delivered() -> bool:
                    return len(receiver.created) >= 5

                await wait_for(some_delivered, timeout=20, what="the first deliveries")
                server.kill()  # mid-burst: jobs queued, running and finished are all in Redis's memory
                refs += await post_burst(session, base, 60, 20)  # stored; their jobs are not queued
                await asyncio.sleep(3)  # the outage (real processes, real time: no clock to move)
                for name, proc in procs.items():
                    assert proc.poll() is None, f"{name} exited during the outage:\n{logs[name].read_text()}"
                server.start()  # on the same port, empty
                refs += await post_burst(session, base, 80, 20)

                await until_delivered(
                    receiver, refs, timeout=30, what="every accepted melding at the receiver"
                )
                client = aioredis.Redis.from_url(server.url)
                try:
                    await until_drained(
                        client, settings.queue_name, timeout=15, what="the workers to finish every job"
                    )
                finally:
                    await client.aclose()

                async def both_workers_beat() -> bool:  # each reconnected on its own backoff
                    async with session.get(f"{base}/healthz") as resp:
                        health = await resp.json()
                        return resp.status == 200 and health["workers"] == 2

                await wait_for(both_workers_beat, timeout=10, what="/healthz to count both workers again")
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited:\n{logs[name].read_text()}"
    delivered = [r["body"]["melding"]["reference"] for r in receiver.created]
    assert sorted(delivered) == sorted(refs), "each accepted melding delivered exactly once"
    for log in logs.values():
        assert_clean_shutdown(log)
    for worker in ("worker1", "worker2"):
        text = logs[worker].read_text()
        # the outage is told once, and its end once: no traceback per poll
        assert text.count("redis unavailable") == 1, text
        assert text.count("redis reachable again") == 1, text
