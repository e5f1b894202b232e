"""No reporter's name, e-mail address, phone number or text in the logs (SECURITY.md, "Logging").

Every channel the tests can drive takes in a melding from a reporter with distinctive details; the
worker routes and delivers them and a status change is notified; every log line written meanwhile,
as the JSON formatter writes it, holds none of those details (a masked number or address is fine:
`+**********01`, `z***@example.be`)."""

from __future__ import annotations

import asyncio
import io
import logging
import smtplib
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from gateway.logs import JsonFormatter
from tests.support import phone
from tests.support import sms as twilio_sms
from tests.support.data import MELDPUNT
from tests.support.http import RelayHandler, free_port
from tests.support.portal import dosis_feed, fake_portal, signed_feed, with_feeds
from tests.support.worker import run_worker

NAME = "Zebedeus Quaxelmann"
EMAIL = "zebedeus.quaxelmann@example.be"
TEXT = "Losliggende tegel op het voetpad, de flamingovijver loopt over de stoep."
# the reporter's national register number (85.07.30-033.28), pushed to a portal feed: never logged
NATIONAL_NUMBER = "85.07.30-033.28"
SECRETS = (
    "Zebedeus",
    "Quaxelmann",
    "zebedeus",
    "quaxelmann@",
    "555 01",
    "55501",
    "flamingo",
    "850730",
    "85.07.30",
    "03328",
)
NUMBER = "+32470555017"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of every logger, formatted as production writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def smtp_port(every_channel: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    server = await start_smtp(settings, mail_intake(every_channel.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def send_mail(port: int, subject: str = f"Tegel {NAME}") -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"{NAME} <{EMAIL}>", MELDPUNT, subject
    msg["Message-ID"] = make_msgid(domain="example.be")
    msg.set_content(f"{TEXT}\n\nGroeten,\n{NAME}\n0470 55 50 17")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        assert smtp.sendmail(EMAIL, [MELDPUNT], msg.as_bytes()) == {}


async def test_no_personal_data_in_the_logs_of_any_channel(
    every_channel: TestClient[Any, Any],
    settings: Settings,
    smtp_port: int,
    smtp_relay: tuple[str, RelayHandler],
    captured: io.StringIO,
) -> None:
    client = every_channel
    relay, _ = smtp_relay
    async with fake_portal() as portal:
        fed = with_feeds(settings, dosis_feed(portal), signed_feed(portal))
        await _every_channel_then_a_status(client, fed, relay, smtp_port)
        assert len(portal.received) == 4  # both feeds got Geregistreerd and Gepland
    logged = captured.getvalue()
    assert "melding received" in logged and "routed to" in logged  # the log was captured
    assert "automatic mail stored, not a melding (by Subject)" in logged
    assert "status gepland pushed" in logged
    assert [s for s in SECRETS if s in logged] == [], logged


async def _every_channel_then_a_status(
    client: TestClient[Any, Any], settings: Settings, relay: str, smtp_port: int
) -> None:
    reporter = {"name": NAME, "email": EMAIL, "phone": "+32 470 55 50 17"}
    body = {"text": TEXT, "reporter": reporter, "location": {"street": "Budastraat"}}
    api = await client.post("/api/v1/meldingen", json={**body, "national_register_number": NATIONAL_NUMBER})
    assert api.status == 202
    await twilio_sms.new_sms_melding(client, "SM" + "7" * 32, TEXT, NUMBER)
    await twilio_sms.post(client, twilio_sms.message("SM" + "8" * 32, "STOP", "+32470555018"))
    call = phone.call(
        caller_number="0470 55 50 17", agent_notes=TEXT, reporter={"name": NAME, "email": EMAIL}
    )
    assert (await phone.post(client, call)).status in (200, 201, 202)
    await asyncio.to_thread(send_mail, smtp_port)
    await asyncio.to_thread(send_mail, smtp_port, f"Afwezig: {NAME} is met vakantie")  # an auto-reply
    await run_worker(settings.model_copy(update={"smtp_relay": relay}))
    await twilio_sms.set_status(
        client, (await api.json())["reference"], status="gepland", note=f"Gebeld met {NAME}"
    )
    await run_worker(settings.model_copy(update={"smtp_relay": relay}))
