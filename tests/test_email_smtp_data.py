"""The SMTP listener's DATA, byte by byte: smuggled ends of data, bare-LF mail, the limits. Real
SMTP sessions (smtplib, or a raw socket where the bytes on the wire are the point)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from tests.support.api import api_get
from tests.support.data import MELDPUNT
from tests.support.http import free_port
from tests.support.twilio import jpeg

HEADERS = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: eerste\r\n\r\n"
FORGED = b"MAIL FROM:<ceo@kortrijk.be>\r\nRCPT TO:<1777@kortrijk.be>\r\nDATA\r\nSubject: vals\r\n\r\nvals\r\n"


@pytest.fixture
async def smtp_port(client: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    server = await start_smtp(settings, mail_intake(client.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def raw_session(port: int, data: bytes) -> tuple[bytes, bytes]:
    """One mail whose DATA is `data` written as is (ending with <CRLF>.<CRLF>), then QUIT:
    the answers to both, so a refused mail is seen to leave the session usable."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rwb")

        def cmd(line: bytes) -> bytes:
            f.write(line)
            f.flush()
            return f.readline()

        f.readline()
        cmd(b"EHLO x\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        assert cmd(b"MAIL FROM:<an@example.be>\r\n").startswith(b"250")
        assert cmd(b"RCPT TO:<1777@kortrijk.be>\r\n").startswith(b"250")
        assert cmd(b"DATA\r\n").startswith(b"354")
        answer = cmd(data)
        return answer, cmd(b"QUIT\r\n")


async def meldingen(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    return (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]


@pytest.mark.parametrize(
    "end",
    [b"\r\n.\n", b"\n.\n", b"\n.\r\n", b"\r.\r"],
    ids=["CRLF.LF", "LF.LF", "LF.CRLF", "CR.CR"],
)
async def test_a_smuggled_end_of_data_is_refused_with_554(
    client: TestClient[Any, Any], smtp_port: int, end: bytes
) -> None:
    data = HEADERS + b"hallo" + end + FORGED + b".\r\n"
    answer, bye = await asyncio.to_thread(raw_session, smtp_port, data)
    assert answer.startswith(b"554 5.6.11"), answer
    assert bye.startswith(b"221"), bye
    assert await meldingen(client) == []


async def test_a_dot_stuffed_line_is_stored_without_its_dot(
    client: TestClient[Any, Any], smtp_port: int
) -> None:
    data = HEADERS + b"Losse tegel aan nummer 12\r\n..een lijn met een punt\r\n.\r\n"
    answer, _ = await asyncio.to_thread(raw_session, smtp_port, data)
    assert answer.startswith(b"250"), answer
    [melding] = await meldingen(client)
    assert "\n.een lijn met een punt" in melding["text"]


def photo_mail() -> MIMEMultipart:
    msg = MIMEMultipart()
    msg["From"] = "An Peeters <an@example.be>"
    msg["To"] = MELDPUNT
    msg["Subject"] = "Sluikstort"
    msg.attach(MIMEText("Sluikstort aan de glasbol in de Budastraat.\n.Zie foto.\n", "plain", "utf-8"))
    msg.attach(MIMEImage(jpeg(size=(64, 48)), "jpeg", name="foto.jpg"))
    return msg


async def test_mail_with_bare_lf_line_endings_is_accepted(
    client: TestClient[Any, Any], smtp_port: int
) -> None:
    raw = photo_mail().as_bytes()  # the default policy: LF line endings
    assert b"\r\n" not in raw and len(raw) > 1001  # past the line limit aiosmtpd applied

    def sendmail() -> dict[str, Any]:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            return smtp.sendmail("an@example.be", [MELDPUNT], raw)

    assert await asyncio.to_thread(sendmail) == {}  # every recipient took it (250)
    [melding] = await meldingen(client)
    assert "glasbol in de Budastraat" in melding["text"]
    assert "\n.Zie foto." in melding["text"]  # smtplib's dot-stuffing after a bare LF undone
    got = await (await api_get(client, f"/api/v1/meldingen/{melding['id']}")).json()
    assert [a["content_type"] for a in got["attachments"]] == ["image/jpeg"]


async def test_a_bare_lf_mail_above_the_size_limit_is_refused_with_552(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int
) -> None:
    line = b"Een lange melding over een losliggende tegel in de straat.\n"
    data = HEADERS.replace(b"\r\n", b"\n") + line * (settings.max_mail_bytes // len(line) + 10) + b"\r\n.\r\n"
    answer, bye = await asyncio.to_thread(raw_session, smtp_port, data)
    assert answer.startswith(b"552"), answer
    assert bye.startswith(b"221")
    assert await meldingen(client) == []


async def test_a_line_over_1000_bytes_is_refused_with_500(
    client: TestClient[Any, Any], smtp_port: int
) -> None:
    for ending in (b"\n", b"\r\n"):
        data = HEADERS + b"x" * 1200 + ending + b"einde\r\n.\r\n"
        answer, _ = await asyncio.to_thread(raw_session, smtp_port, data)
        assert answer.startswith(b"500"), (ending, answer)
    assert await meldingen(client) == []
