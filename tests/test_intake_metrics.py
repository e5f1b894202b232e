"""`gateway_intake_rejected_total` counts every refused intake under its channel and code, and
nothing else: SMTP refusals (real SMTP sessions) and Open311 POSTs count, Open311 reads do not."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from gateway.http.app import create_app
from tests.support.data import MELDPUNT
from tests.support.http import free_port
from tests.support.open311 import API_KEY, BASE, form, post_request

MAIL = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: tegel\r\n\r\nLosse tegel.\r\n"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    on = settings.model_copy(update={"open311_api_keys": [API_KEY]})
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


async def rejected(client: TestClient[Any, Any]) -> dict[tuple[str, str], float]:
    text = await (await client.get("/metrics")).text()
    counts = {}
    for line in text.splitlines():
        if line.startswith("gateway_intake_rejected_total{"):
            labels, value = line.removeprefix("gateway_intake_rejected_total").rsplit(" ", 1)
            fields = dict(part.split("=") for part in labels.strip("{}").split(","))
            counts[(fields["channel"].strip('"'), fields["code"].strip('"'))] = float(value)
    return counts


def smtp_refusals(port: int, big: bytes) -> list[int]:
    """A relay attempt (550), a mail over the size limit (552), a smuggled end of data (554)."""
    codes = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.be")
        smtp.mail("an@example.be")
        codes.append(smtp.rcpt("someone@elsewhere.example")[0])
        smtp.rset()
        smtp.mail("an@example.be")
        smtp.rcpt(MELDPUNT)
        codes.append(smtp.data(big)[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rwb")
        f.write(b"HELO x\r\nMAIL FROM:<an@example.be>\r\nRCPT TO:<1777@kortrijk.be>\r\nDATA\r\n")
        f.write(MAIL + b"\r\n.\nMAIL FROM:<x@y>\r\n.\r\nQUIT\r\n")
        f.flush()
        answers = [f.readline() for _ in range(6)]
        codes.append(int(answers[5][:3]))  # greeting, HELO, MAIL, RCPT, DATA, then the mail's
    return codes


async def test_smtp_refusals_are_counted_under_email(app: TestClient[Any, Any], settings: Settings) -> None:
    server = await start_smtp(settings, mail_intake(app.app), port=free_port())
    try:
        big = MAIL + b"Een lange melding over een tegel.\r\n" * (settings.max_mail_bytes // 30)
        codes = await asyncio.to_thread(smtp_refusals, server.sockets[0].getsockname()[1], big)
    finally:
        server.close()
        await server.wait_closed()
    assert codes == [550, 552, 554]
    counts = await rejected(app)
    assert {k: v for k, v in counts.items() if k[0] == "email"} == {
        ("email", "550"): 1.0,
        ("email", "552"): 1.0,
        ("email", "554"): 1.0,
    }


async def test_open311_counts_refused_posts_not_reads_that_find_nothing(app: TestClient[Any, Any]) -> None:
    assert (await app.get(f"{BASE}/services/brandweer.json")).status == 404
    assert (await app.get(f"{BASE}/requests/1777-2026-999999.json")).status == 404
    assert (await app.get(f"{BASE}/tokens/nope.xml")).status == 404
    assert await rejected(app) == {}
    assert (await post_request(app, form(service_code="brandweer"))).status == 404
    assert (await post_request(app, form(api_key="wrong"))).status == 403
    assert await rejected(app) == {("open311", "404"): 1.0, ("open311", "403"): 1.0}
