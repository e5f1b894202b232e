"""Fault test: a worker SIGKILLed mid-burst, under `serve` and a second worker.

arq alone leaves the jobs the dead worker held locked until their in-progress keys expire
(job timeout + 10 s: 70 s here); the surviving worker sees the heartbeat stop and runs them
again at once (gateway.queue_reclaim). Every melding is delivered; a delivery the dead worker
had sent but not yet recorded may reach the case system twice, always with the same
Idempotency-Key, which the case system drops.
"""

from __future__ import annotations

import signal
import socket
from collections import defaultdict
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from gateway.config import Settings
from gateway.queue_reclaim import running_key
from gateway.store import Store
from gateway.store import meldingen as meldingen_store
from tests.support.http import SECRET, Receiver, free_port
from tests.support.processes import (
    assert_clean_shutdown,
    post_burst,
    process,
    settings_env,
    until_delivered,
    until_drained,
    wait_for,
    wait_healthy,
)

BURST = 500


async def test_a_worker_killed_mid_burst_loses_nothing_and_delivers_once(
    settings: Settings, receiver: Receiver, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    receiver.delay = 0.05  # deliveries in flight, so the kill lands mid-job
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(
        update={
            "http_port": port,
            "http_host": "127.0.0.1",
            "smtp_host": "127.0.0.1",
            "case_system_secret": SECRET,
            "case_system_timeout": 10.0,  # arq's job timeout 60 s: its in-progress keys live 70 s
            "worker_heartbeat_interval": 0.5,
            "worker_heartbeat_ttl": 2.0,
            "sweep_interval": 60,  # the sweep is not what brings the jobs back here
            "sweep_grace": 60.0,
            "log_format": "json",
        }
    )
    env = settings_env(settings)
    logs = {name: tmp_path / f"{name}.log" for name in ("serve", "victim", "survivor")}
    with (
        process(["serve"], env, logs["serve"]) as serve,
        process(["worker"], env, logs["victim"]) as victim,
        process(["worker"], env, logs["survivor"]) as survivor,
    ):
        await wait_healthy(base, serve, logs["serve"])

        async def consuming() -> bool:
            return all("worker consuming" in logs[w].read_text() for w in ("victim", "survivor"))

        await wait_for(consuming, timeout=30, what="both workers to start")
        victim_jobs = running_key(settings.queue_name, f"{socket.gethostname()}:{victim.pid}")
        async with aiohttp.ClientSession() as session:
            refs = await post_burst(session, base, 0, BURST)

            async def victim_busy() -> bool:
                return len(receiver.created) >= 20 and await redis_client.scard(victim_jobs) > 0

            await wait_for(victim_busy, timeout=20, what="the victim to run jobs mid-burst")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            held = await redis_client.smembers(victim_jobs)
            assert held, "the victim held jobs when it was killed"

            # far below the 70 s arq alone would leave the victim's jobs locked
            await until_delivered(receiver, refs, timeout=30, what="every melding at the receiver")

            await until_drained(
                redis_client, settings.queue_name, timeout=10, what="the survivor to finish every job"
            )

            # Waited for, not read at once: when the victim died holding only jobs that needed no
            # second run (marks, a job between its finish and its unmark), the burst can drain
            # before the survivor's next beat past the victim's TTL, and the shutdown beat it to it.
            async def victim_found_dead() -> bool:
                return "stopped beating" in logs["survivor"].read_text()

            await wait_for(victim_found_dead, timeout=15, what="the survivor to find the victim dead")
            assert serve.poll() is None and survivor.poll() is None
    store = Store(settings.database_url)
    await store.open()
    try:
        counts = await store.read(meldingen_store.counts)
    finally:
        await store.close()
    assert counts["stage"] == {"delivered": BURST}, counts
    assert counts["delivery"] == {"delivered": BURST}, counts
    by_key: dict[str, set[str]] = defaultdict(set)
    for hit in receiver.created:
        by_key[hit["headers"]["Idempotency-Key"]].add(hit["body"]["melding"]["reference"])
    # once per melding, as the case system sees it: a repeat (if any) carries the same key
    assert len(by_key) == BURST and all(len(r) == 1 for r in by_key.values())
    assert sorted(ref for refs_of in by_key.values() for ref in refs_of) == sorted(refs)
    survivor_log = logs["survivor"].read_text()
    assert "stopped beating" in survivor_log and "of its jobs run again now" in survivor_log, survivor_log
    for name in ("serve", "survivor"):
        assert_clean_shutdown(logs[name])
