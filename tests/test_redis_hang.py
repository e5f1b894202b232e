"""A Redis that accepts the connection but never answers (hung, or a half-open connection through a
firewall) must not hold a request forever: every command times out after `redis_socket_timeout`.
Intake still stores the melding and answers 202 (the sweep queues it once Redis is back, as in an
outage); what cannot go on without the queue answers 503 with Retry-After; /healthz says 503."""

from __future__ import annotations

import asyncio
import json
import smtplib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.signing import sign
from tests.support.api import api_get, delivered, melding
from tests.support.data import TILE
from tests.support.http import SECRET, free_port

# Far above the timeouts below: only a request that hangs misses it (not a speed assertion).
BOUND = 20.0


@pytest.fixture
async def silent_redis() -> AsyncIterator[tuple[str, list[asyncio.StreamWriter]]]:
    """A TCP server that takes connections and reads what it is sent, but never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0", held
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
async def hung(
    settings: Settings, silent_redis: tuple[str, list[asyncio.StreamWriter]]
) -> AsyncIterator[TestClient[Any, Any]]:
    url, _ = silent_redis
    on = settings.model_copy(
        update={"redis_url": url, "redis_socket_timeout": 0.5, "redis_connect_timeout": 0.5}
    )
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_intake_is_answered_and_stored_while_redis_hangs(
    hung: TestClient[Any, Any], silent_redis: tuple[str, list[asyncio.StreamWriter]]
) -> None:
    resp = await asyncio.wait_for(hung.post("/api/v1/meldingen", json=TILE), BOUND)
    assert resp.status == 202, await resp.text()
    assert silent_redis[1], "the gateway did try the hung Redis"
    got = await melding(hung, (await resp.json())["id"])
    assert got["text"] == TILE["text"]  # stored whole: the sweep queues it once Redis answers


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_health_says_503_while_redis_hangs(hung: TestClient[Any, Any]) -> None:
    resp = await asyncio.wait_for(hung.get("/healthz"), BOUND)
    assert resp.status == 503
    assert (await resp.json())["redis"].startswith("error")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_what_needs_the_queue_answers_503_with_retry_after(hung: TestClient[Any, Any]) -> None:
    created = await (await asyncio.wait_for(hung.post("/api/v1/meldingen", json=TILE), BOUND)).json()
    await delivered(hung, created["id"])  # a callback needs a case; no worker runs on this Redis
    raw = json.dumps({"status": "in_behandeling"}).encode()
    headers = {"Content-Type": "application/json", **sign(SECRET, raw)}
    resp = await asyncio.wait_for(
        hung.post(f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers), BOUND
    )
    assert resp.status == 503, await resp.text()
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["error"]["code"] == "queue_unavailable"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mail_is_answered_250_while_redis_hangs(hung: TestClient[Any, Any], settings: Settings) -> None:
    server = await start_smtp(settings, mail_intake(hung.app), port=free_port())
    port = server.sockets[0].getsockname()[1]
    mail = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: tegel\r\n\r\nLosse tegel.\r\n"

    def send() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=BOUND) as smtp:
            smtp.sendmail("an@example.be", ["1777@kortrijk.be"], mail)
            return smtp.noop()

    try:
        code, _ = await asyncio.wait_for(asyncio.to_thread(send), BOUND)
    finally:
        server.close()
        await server.wait_closed()
    assert code == 250  # sendmail raises unless the DATA was answered 250
    listed = await (await api_get(hung, "/api/v1/meldingen")).json()
    assert [m["channel"] for m in listed["meldingen"]] == ["email"]
