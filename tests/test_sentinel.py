"""Redis through Sentinel: the `redis+sentinel://` form of `redis_url`, parsed and checked in the
settings, turned into arq's RedisSettings and a lazily connecting queue client; and a real
Sentinel (redis-server --sentinel on private ports) that both find the master through."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import create_pool

from gateway.config import ConfigError, SentinelTarget, Settings, load_settings, sentinel_target
from gateway.http.app import create_app
from gateway.queue import connect, enqueue_process, redis_settings
from tests.support.api import melding, post
from tests.support.http import Receiver, free_port
from tests.support.processes import PrivateRedis, private_redis
from tests.support.worker import run_worker


def test_sentinel_urls_are_parsed() -> None:
    assert sentinel_target("redis://127.0.0.1:6379/0") is None
    assert sentinel_target("redis+sentinel://s1:26379,s2:26380,10.0.0.3:26379/mymaster/2") == SentinelTarget(
        (("s1", 26379), ("s2", 26380), ("10.0.0.3", 26379)), "mymaster", 2
    )
    assert sentinel_target("redis+sentinel://:p%40ss@s1:26379/meldpunt") == SentinelTarget(
        (("s1", 26379),), "meldpunt", 0, None, "p@ss"
    )
    assert sentinel_target("redis+sentinel://u:pw@[::1]:26379/m/1") == SentinelTarget(
        (("::1", 26379),), "m", 1, "u", "pw"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://s1:26379,s2/mymaster", "'s2' is not host:port"),
        ("redis+sentinel://s1:99999/mymaster", "'s1:99999' is not host:port"),
        ("redis+sentinel://s1:26379", "name the master"),
        ("redis+sentinel://s1:26379/", "name the master"),
        ("redis+sentinel://s1:26379/m/zero", "must be a number, not 'zero'"),
        ("redis+sentinel://s1:26379/m/0/x", "name the master"),
        ("sentinel://s1:26379/m", "use redis://host:port/db"),
        ("127.0.0.1:6379", "use redis://host:port/db"),
    ],
)
def test_bad_redis_urls_are_refused_naming_the_setting(tmp_path: Path, url: str, says: str) -> None:
    (tmp_path / "gateway.toml").write_text("")
    with pytest.raises(ConfigError) as exc:
        load_settings(tmp_path / "gateway.toml", {"GATEWAY_REDIS_URL": url})
    assert "redis_url (GATEWAY_REDIS_URL): " in str(exc.value) and says in str(exc.value), str(exc.value)
    assert "Value error" not in str(exc.value)  # the validator's own words only


def test_arq_settings_for_sentinel_and_plain_urls() -> None:
    s = redis_settings("redis+sentinel://:secret@s1:26379,s2:26379/mymaster/3")
    assert s.sentinel is True and s.host == [("s1", 26379), ("s2", 26379)]
    assert (s.sentinel_master, s.database, s.password) == ("mymaster", 3, "secret")
    plain = redis_settings("redis://:pw@cache:6380/4")
    assert plain.sentinel is False and (plain.host, plain.port, plain.database, plain.password) == (
        "cache",
        6380,
        4,
        "pw",
    )
    assert Settings(redis_url="redis+sentinel://s1:26379/m").redis_url == "redis+sentinel://s1:26379/m"


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[PrivateRedis, int]]:
    """A private redis-server and one Sentinel (quorum 1) watching it as `meldpunt`."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with private_redis(tmp_path / "redis") as master:
        port = free_port()
        conf = tmp_path / "sentinel.conf"  # Sentinel rewrites its file: it must be writable
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nlogfile {tmp_path / 'sentinel.log'}\n"
            f"sentinel monitor meldpunt 127.0.0.1 {master.port} 1\n"
        )
        proc = subprocess.Popen(["redis-server", str(conf), "--sentinel"])
        try:
            client = redis.Redis(port=port, socket_connect_timeout=0.5)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if client.sentinel_get_master_addr_by_name("meldpunt"):
                        break
                except redis.ConnectionError:
                    pass
                time.sleep(0.05)
            else:
                raise AssertionError("the Sentinel did not come up within 20 s")
            client.close()
            yield master, port
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def test_queue_client_and_worker_settings_find_the_master_through_sentinel(
    sentinel: tuple[PrivateRedis, int],
) -> None:
    master, port = sentinel
    url = f"redis+sentinel://127.0.0.1:{port}/meldpunt/0"
    client = connect(url, "gateway:sentinel-queue")
    try:
        assert await enqueue_process(client, "gateway:sentinel-queue", "m-1") is True
    finally:
        await client.aclose()
    direct = redis.Redis(port=master.port)
    assert direct.zcard("gateway:sentinel-queue") == 1  # it went to the master the Sentinel named
    direct.close()
    pool = await create_pool(redis_settings(url))  # what the arq worker does with it
    try:
        assert await pool.zcard("gateway:sentinel-queue") == 1
    finally:
        await pool.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # Redis is the point here
async def test_a_melding_travels_through_sentinel_from_intake_to_the_case_system(
    sentinel: tuple[PrivateRedis, int], settings: Settings, receiver: Receiver
) -> None:
    _, port = sentinel
    through = settings.model_copy(update={"redis_url": f"redis+sentinel://127.0.0.1:{port}/meldpunt/0"})
    async with TestClient(TestServer(create_app(through))) as client:
        assert (await (await client.get("/healthz")).json())["redis"] == "ok"
        created = await post(client)
        await run_worker(through)  # the gateway's own worker, on arq's Sentinel settings
        got = await melding(client, created["id"])
    assert got["stage"] == "delivered"
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [created["reference"]]
