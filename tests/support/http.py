"""HTTP and SMTP peers of the gateway: the case system stand-in, the mail relay, free ports."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

# The case system's webhook secret in the `settings` fixture.
SECRET = "test-secret"
READ_TOKEN = "test-read-token"  # GATEWAY_API_READ_TOKEN of the tests' settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    """A case system stand-in: verifies signatures, records deliveries, answers as scripted."""

    url: str = ""
    responses: list[int] = field(default_factory=list)  # status codes to answer, in order; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    started: int = 0  # requests that arrived (answered or not yet)
    in_flight: int = 0  # requests not yet answered (nor cut off by their client going away)

    @property
    def created(self) -> list[dict[str, Any]]:
        return [r for r in self.received if r["ok"] and r["body"]["event"] == "melding.created"]

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.started += 1
        try:
            verify(SECRET, raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
            signed = True
        except SignatureError:
            signed = False
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.responses.pop(0) if self.responses else 200
        self.received.append(
            {
                "body": json.loads(raw),
                "headers": dict(request.headers),
                "signed": signed,
                "status": status,
                "ok": status == 200 and signed,
            }
        )
        if not signed:
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"case_id": f"C{len(self.received)}"}, status=status)


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """A stand-in's aiohttp app on a free loopback port: its base URL, without a trailing slash."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """The case system stand-in on a free port at /case-system."""
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/case-system", rec.handle)
    async with serve_app(app) as base:
        rec.url = f"{base}/case-system"
        yield rec


class RelayHandler:
    """An SMTP relay stand-in (aiosmtpd handler): keeps every envelope it is given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(envelope)
        return "250 OK"
