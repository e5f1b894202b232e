"""Fault test: the case system fails, then recovers, under `serve` and a worker process.

In turn it answers 503, hangs longer than case_system_timeout, and refuses connections (stopped),
then comes back: every melding is delivered once, none is dead, no process exits.
(tests/test_delivery_retry.py has the same faults in process, with a moved clock.)
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import redis.asyncio as aioredis

from gateway.config import Settings
from gateway.store import Store
from gateway.store import meldingen as meldingen_store
from tests.support.faults import TcpProxy
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

MELDINGEN = 20
TIMEOUT = 1.0  # case_system_timeout; a hanging case system answers after three times that


async def test_case_system_failing_hanging_stopped_then_back(
    settings: Settings, receiver: Receiver, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(receiver.url).port or 80)
    await proxy.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(
        update={
            "http_port": port,
            "http_host": "127.0.0.1",
            "smtp_host": "127.0.0.1",
            "case_system_url": f"http://127.0.0.1:{proxy.port}/case-system",
            "case_system_secret": SECRET,
            "case_system_timeout": TIMEOUT,
            # small backoff, so the test is bounded; a budget no outage here comes near: none dies
            "delivery_backoff_base": 0.2,
            "delivery_backoff_max": 1.0,
            "delivery_max_attempts": 0,
            "delivery_retry_for": 600.0,
            "sweep_interval": 60,
            "sweep_grace": 60.0,
            "log_format": "json",
        }
    )
    env = settings_env(settings)
    logs = {name: tmp_path / f"{name}.log" for name in ("serve", "worker")}

    def worker_saw(what: str) -> bool:
        return what in logs["worker"].read_text()

    receiver.responses = [503] * 100_000  # until the case system comes back
    with (
        process(["serve"], env, logs["serve"]) as serve,
        process(["worker"], env, logs["worker"]) as worker,
    ):
        await wait_healthy(base, serve, logs["serve"])
        async with aiohttp.ClientSession() as session:
            refs = await post_burst(session, base, 0, MELDINGEN)

        async def failed_with(what: str, at_least: int) -> bool:
            return logs["worker"].read_text().count(what) >= at_least

        # 1. 503 for every delivery, each tried again
        await wait_for(lambda: failed_with("HTTP 503", 2 * MELDINGEN), timeout=20, what="503s")
        # 2. it hangs: every delivery cut off by case_system_timeout, and tried again
        receiver.delay = 3 * TIMEOUT
        await wait_for(lambda: failed_with("timed out after", MELDINGEN), timeout=20, what="timeouts")
        # 3. stopped: connections refused
        await proxy.cut()
        await wait_for(lambda: failed_with("connection failed", MELDINGEN), timeout=20, what="refusals")
        assert serve.poll() is None and worker.poll() is None

        async def hung_answered() -> bool:  # no late answer to a request the worker gave up on
            return receiver.in_flight == 0

        await wait_for(hung_answered, timeout=10, what="the hanging requests to end")
        assert not receiver.created
        # 4. back
        receiver.delay = 0.0
        receiver.responses.clear()
        await proxy.restore()

        await until_delivered(receiver, refs, timeout=20, what="every melding at the receiver")

        await until_drained(
            redis_client, settings.queue_name, timeout=10, what="the worker to finish every job"
        )
        assert serve.poll() is None and worker.poll() is None, "no process exits"
    await proxy.cut()
    assert sorted(r["body"]["melding"]["reference"] for r in receiver.created) == sorted(refs)
    store = Store(settings.database_url)
    await store.open()
    try:
        counts = await store.read(meldingen_store.counts)
    finally:
        await store.close()
    assert counts["stage"] == {"delivered": MELDINGEN}, counts  # none dead
    assert counts["delivery"] == {"delivered": MELDINGEN}, counts
    assert all(worker_saw(f) for f in ("HTTP 503", "timed out after", "connection failed"))
    for log in logs.values():
        assert_clean_shutdown(log)
