"""The gateway as its operators run it: real processes, started from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import smtplib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import redis.asyncio as aioredis

from gateway.config import Settings
from tests.support.api import api_get
from tests.support.data import MELDPUNT, TILE
from tests.support.http import SECRET, Receiver, free_port
from tests.support.processes import (
    assert_clean_shutdown,
    process,
    settings_env,
    wait_for,
    wait_healthy,
    wait_logged,
)


@pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="`make run` and `.ci/run` install redis-server"
)
@pytest.mark.timeout(720)  # the first-start training below may take up to its own 540 s bound
async def test_newcomer_runs_gateway_up_and_sees_a_tile_reach_the_receiver(tmp_path: Path) -> None:
    """README's first steps: `gateway up` (starting its own Redis), `gateway receiver`, curl."""
    http_port, redis_port, receiver_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "GATEWAY_HTTP_PORT": str(http_port),
        "GATEWAY_SMTP_PORT": str(smtp_port),
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "GATEWAY_CASE_SYSTEM_URL": f"http://127.0.0.1:{receiver_port}/case-system",
        # an empty model dir, as on a fresh checkout: `up` trains the model on first start
        "GATEWAY_MODEL_DIR": str(tmp_path / "models"),
    }
    base = f"http://127.0.0.1:{http_port}"
    with (
        process(["receiver", "--port", str(receiver_port)], env, tmp_path / "receiver.log"),
        process(["up"], env, tmp_path / "up.log") as up,
    ):
        await wait_healthy(base, up, tmp_path / "up.log")
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{base}/api/v1/meldingen", json=TILE, headers={"Idempotency-Key": "demo-1"}
            ) as resp,
        ):
            assert resp.status == 202
            created = await resp.json()

        def delivered() -> list[dict[str, Any]]:
            lines = (tmp_path / "receiver.log").read_text().splitlines()
            return [json.loads(line) for line in lines if line.startswith("{")]

        async def arrived() -> bool:
            return bool(delivered())

        # accepted at once; routed once the first-start training is done: three calibration folds
        # and the model fitted side by side, 2 to 6 minutes on two cores (the machines vary twofold),
        # longer beside the rest of the suite. Only a bound against a hang: speed is bench's to say.
        await wait_for(arrived, timeout=1200, what="the webhook at the receiver")
        [hit] = delivered()
        assert hit["event"] == "melding.created"
        assert hit["reference"] == created["reference"]
        assert hit["dienst"] == "wegen"
        assert "refused" not in hit
        # the same `up` listens for mail too
        mail = (
            b"From: Jan <jan@example.be>\r\nTo: 1777@kortrijk.be\r\nSubject: Lamp\r\n\r\n"
            b"De straatlamp voor nummer 3 brandt al een week niet meer.\r\n"
        )
        await asyncio.to_thread(
            lambda: smtplib.SMTP("127.0.0.1", smtp_port, timeout=30).sendmail(
                "jan@example.be", [MELDPUNT], mail
            )
        )

        async def mail_arrived() -> bool:
            return len(delivered()) == 2

        await wait_for(mail_arrived, what="the mailed melding at the receiver")
        assert delivered()[1]["dienst"] == "verlichting"
        assert "started a local redis-server" in (tmp_path / "up.log").read_text()
    assert_clean_shutdown(tmp_path / "up.log")
    # the Redis that `up` started stops with it
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=redis_port, socket_connect_timeout=1).ping()


async def test_serve_and_two_workers_share_one_redis_and_one_store(
    settings: Settings, receiver: Receiver, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    port = free_port()
    env = settings_env(
        settings.model_copy(
            update={"http_port": port, "http_host": "127.0.0.1", "case_system_secret": SECRET}
        )
    )
    base = f"http://127.0.0.1:{port}"
    with (
        process(["serve"], env, tmp_path / "serve.log") as serve,
        process(["worker"], env, tmp_path / "worker1.log") as worker1,
        process(["worker"], env, tmp_path / "worker2.log") as worker2,
    ):
        await wait_healthy(base, serve, tmp_path / "serve.log")
        # Both take jobs before the burst: on a busy machine one worker could otherwise deliver all 30
        # while the other is still starting, and be stopped before it ever ran.
        for n, worker in ((1, worker1), (2, worker2)):
            await wait_logged(tmp_path / f"worker{n}.log", "worker consuming", worker)
        texts = ["losliggende tegel op het voetpad", "de straatlamp brandt niet", "sluikstort aan de glasbol"]
        async with aiohttp.ClientSession() as session:
            posts = [
                session.post(f"{base}/api/v1/meldingen", json={"text": f"{texts[n % 3]} (nr {n})"})
                for n in range(30)
            ]
            refs = []
            for resp in await asyncio.gather(*posts):
                assert resp.status == 202
                refs.append((await resp.json())["reference"])

        async def all_delivered() -> bool:
            return len(receiver.created) >= 30

        await wait_for(all_delivered, what="30 deliveries")

        async def drained() -> bool:
            # arq keeps a job in its queue until it has finished: with the queue empty, no job is
            # left, waiting or running, that could deliver a second time
            return await redis_client.zcard(settings.queue_name) == 0

        await wait_for(drained, what="the workers to finish every job")
    delivered = [r["body"]["melding"]["reference"] for r in receiver.created]
    assert sorted(delivered) == sorted(refs), "each melding delivered exactly once"
    for name in ("serve", "worker1", "worker2"):
        assert_clean_shutdown(tmp_path / f"{name}.log")
    for n in (1, 2):
        assert "worker consuming" in (tmp_path / f"worker{n}.log").read_text()


async def test_sigterm_lets_a_running_delivery_finish(
    client: Any, settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.delay = 1.5  # a slow case system: the delivery is in flight when the worker is told to stop
    env = settings_env(
        settings.model_copy(update={"case_system_secret": SECRET, "case_system_timeout": 10.0})
    )
    created = await (await client.post("/api/v1/meldingen", json=TILE)).json()
    with process(["worker"], env, tmp_path / "worker.log") as worker:

        async def in_flight() -> bool:
            return receiver.started > 0

        await wait_for(in_flight, what="the delivery to start")
        worker.terminate()
        await asyncio.get_running_loop().run_in_executor(None, worker.wait, 20)
    assert_clean_shutdown(tmp_path / "worker.log")
    got = await (await api_get(client, f"/api/v1/meldingen/{created['id']}")).json()
    assert got["stage"] == "delivered", (tmp_path / "worker.log").read_text()
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]


def _descendants(pid: int) -> set[int]:
    """The processes below `pid` (its children, theirs...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        kids = {child for child, ppid in parents.items() if ppid == parent}
        found |= kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(300)
async def test_sigterm_during_the_first_start_training_stops_it(settings: Settings, tmp_path: Path) -> None:
    """`gateway up` on a fresh checkout trains first; stopped meanwhile (systemd, Ctrl-C) it ends
    within its grace with the training's processes, instead of training on for minutes."""
    port = free_port()
    env = settings_env(
        settings.model_copy(
            update={
                "http_port": port,
                "http_host": "127.0.0.1",
                "model_autotrain": True,
                "model_dir": tmp_path / "models",
            }
        )
    )
    log = tmp_path / "up.log"
    with process(["up"], env, log) as up:
        await wait_logged(log, "training one from the corpus first", up, timeout=120)

        async def fitting_beside() -> bool:  # the forkserver and at least one fitting child
            assert up.poll() is None, log.read_text()
            return len(_descendants(up.pid)) >= 2

        await wait_for(fitting_beside, timeout=120, what="the training's child processes")
        children = _descendants(up.pid)
        up.terminate()
        # A bound against training on for minutes (the fit takes several), not a speed.
        await asyncio.get_running_loop().run_in_executor(None, up.wait, 60)
    assert_clean_shutdown(log)
    assert "training stopped" in log.read_text()
    assert not (tmp_path / "models" / "current").exists()  # nothing half-trained was saved

    async def children_gone() -> bool:
        return not any(_alive(pid) for pid in children)

    await wait_for(children_gone, timeout=30, what="the training's child processes to end")
