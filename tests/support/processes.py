"""The gateway's own processes, started from the command line as an operator starts them, and a
private redis-server that a test may kill and restart (never the shared one the fixtures use)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import redis

from gateway.config import Settings
from tests.support.data import ROOT
from tests.support.http import free_port


def settings_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"GATEWAY_{name.upper()}"] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    env["GATEWAY_SMTP_PORT"] = str(free_port())  # serve and up listen for mail too
    return env


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def wait_healthy(url: str, proc: subprocess.Popen[str], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"gateway exited:\n{log.read_text()}"
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"gateway did not become healthy:\n{log.read_text()}")


async def wait_logged(log: Path, text: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until the process has logged `text` (a worker's "worker consuming": it takes jobs from then on)."""

    async def logged() -> bool:
        assert proc.poll() is None, f"{log.name}: exited before logging {text!r}:\n{log.read_text()}"
        return text in log.read_text()

    await wait_for(logged, timeout, what=f"{log.name} to log {text!r}")


TEXTS = ("losliggende tegel op het voetpad", "de straatlamp brandt niet", "sluikstort aan de glasbol")


async def post_burst(session: aiohttp.ClientSession, base: str, start: int, n: int) -> list[str]:
    """Meldingen `start` .. `start + n - 1` posted at once to a running gateway: their references."""
    posts = [
        session.post(f"{base}/api/v1/meldingen", json={"text": f"{TEXTS[i % 3]} (nr {i})"})
        for i in range(start, start + n)
    ]
    refs = []
    for resp in await asyncio.gather(*posts):
        assert resp.status == 202, await resp.text()
        refs.append((await resp.json())["reference"])
    return refs


def assert_clean_shutdown(log: Path) -> None:
    """After SIGTERM: the shutdown was logged, with no traceback and no unclosed resource."""
    text = log.read_text()
    assert "shutting down" in text, text
    for sign in ("Traceback", "Unclosed", '"level": "error"'):
        assert sign not in text, f"{log.name}: {sign}\n{text}"


async def wait_for(condition: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def until_delivered(
    receiver: Any, refs: Any, timeout: float, what: str = "every melding at the receiver"
) -> None:
    """Every reference in `refs` reached the stand-in case system (a Receiver) at least once."""
    wanted = set(refs)

    async def delivered() -> bool:
        return {r["body"]["melding"]["reference"] for r in receiver.created} >= wanted

    await wait_for(delivered, timeout=timeout, what=what)


async def until_drained(
    redis: Any, queue: str, timeout: float, what: str = "the workers to finish every job"
) -> None:
    """No job left, waiting or running, that could deliver a second time (the cron sweeps, due
    every second, come and go)."""

    async def drained() -> bool:
        queued = await redis.zrange(queue, 0, -1)
        return not [job for job in queued if not job.startswith(b"cron:")]

    await wait_for(drained, timeout=timeout, what=what)


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, without persistence: killed with
    SIGKILL and started again, it comes back empty, as a Redis that lost its memory does."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is needed (`.ci/services.sh redis-binary`)"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir)]
            + ["--save", "", "--appendonly", "no", "--logfile", str(self.workdir / "redis.log")],
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"private redis-server on port {self.port} does not answer")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
