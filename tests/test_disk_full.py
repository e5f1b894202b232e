"""Fault test: the attachments' disk is full. The melding is kept (text, reporter), each file that
could not be written is recorded as failed with the reason and logged, and the sender hears of it:
the API in its 202, the SMTP session with its 250 (the mail is stored), MMS media as failed after
their retries. Each through its real path, on a really full filesystem (tests/support/faults.py).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from gateway.appkeys import STORE
from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import media as media_store
from gateway.store import meldingen
from gateway.store.schema import inbound_messages
from tests.support.api import api_get, melding, store_of
from tests.support.data import MELDPUNT, PNG, TILE
from tests.support.faults import full_disk
from tests.support.http import Receiver, free_port
from tests.support.sms import REFERENCE, message
from tests.support.sms import post as post_sms
from tests.support.twilio import FakeTwilio, jpeg, twilio_settings
from tests.support.worker import run_worker


def leftovers(directory: Path) -> list[Path]:
    """Files a failed write left behind (the filler of the full disk aside)."""
    return [p for p in directory.rglob("*") if p.is_file() and p.name != ".filler"]


def failed_only(attachments: list[dict[str, Any]], filename: str) -> dict[str, Any]:
    [attachment] = attachments
    assert attachment["filename"] == filename
    assert attachment["state"] == "failed" and attachment["storage_path"] == ""
    assert "ENOSPC" in attachment["error"] and "No space left on device" in attachment["error"]
    return attachment


async def test_api_photo_on_a_full_disk_keeps_the_melding_and_says_so(
    client: TestClient[Any, Any],
    settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    form = aiohttp.FormData()
    form.add_field("text", TILE["text"])
    form.add_field("reporter_email", "an@example.be")
    form.add_field("photo", PNG, filename="tegel.png", content_type="image/png")
    with caplog.at_level(logging.ERROR), full_disk(settings.attachments_dir, monkeypatch):
        resp = await client.post("/api/v1/meldingen", data=form)
        assert resp.status == 202, await resp.text()
        created = await resp.json()
        assert leftovers(settings.attachments_dir) == []  # no half-written file
    [not_stored] = created["attachments_not_stored"]
    assert not_stored["filename"] == "tegel.png" and "ENOSPC" in not_stored["error"]
    assert "tegel.png not stored: ENOSPC: No space left on device" in caplog.text
    got = await melding(client, created["id"])
    assert got["text"] == TILE["text"] and got["reporter"]["email"] == "an@example.be"
    failed_only(got["attachments"], "tegel.png")
    await run_worker(settings)  # the case system learns that the photo is missing, and why
    [hit] = receiver.created
    failed_only(hit["body"]["melding"]["attachments"], "tegel.png")


@pytest.fixture
async def smtp_port(client: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    server = await start_smtp(settings, mail_intake(client.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def send_mail(port: int) -> tuple[int, bytes]:
    msg = EmailMessage()
    msg["From"] = "An Peeters <an@example.be>"
    msg["To"] = MELDPUNT
    msg["Subject"] = "Losse tegel"
    msg.set_content("Er ligt een losliggende tegel op het voetpad in de Budastraat 12.")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="tegel.png")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.be")
        smtp.mail("an@example.be")
        smtp.rcpt(MELDPUNT)
        return smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))


async def test_mail_with_a_photo_on_a_full_disk_keeps_the_melding(
    client: TestClient[Any, Any],
    settings: Settings,
    smtp_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), full_disk(settings.attachments_dir, monkeypatch):
        code, _ = await asyncio.to_thread(send_mail, smtp_port)
        assert leftovers(settings.attachments_dir) == []
    assert code == 250  # stored: the sending server must not retry (nor bounce) it
    [listed] = (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]
    assert "losliggende tegel" in listed["text"] and listed["reporter"]["email"] == "an@example.be"
    failed_only(listed["attachments"], "tegel.png")
    # neither was the raw message written: its audit record says why
    query = select(inbound_messages)
    [record] = await client.app[STORE].read(lambda conn: list(conn.execute(query)))
    assert record.raw_path is None and "ENOSPC" in record.details["raw_not_stored"]
    assert "bericht.eml not stored: ENOSPC" in caplog.text
    assert "tegel.png not stored: ENOSPC" in caplog.text


async def test_mms_media_on_a_full_disk_fail_with_the_reason_and_the_melding_goes(
    settings: Settings,
    twilio: FakeTwilio,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mms_settings = twilio_settings(settings, twilio, sms_media_max_attempts=2)
    sid = twilio.add_media(jpeg(), "image/jpeg")
    params = message(
        "MM900",
        "Boom omgevallen op het fietspad",
        "+32470333444",
        NumMedia="1",
        MediaUrl0=twilio.media_url("MM900", sid),
        MediaContentType0="image/jpeg",
    )
    async with TestClient(TestServer(create_app(mms_settings))) as app:
        resp = await post_sms(app, params)
        assert resp.status == 200
        reference = REFERENCE.search(await resp.text()).group(0)  # type: ignore[union-attr]
        with caplog.at_level(logging.ERROR), full_disk(settings.attachments_dir, monkeypatch):
            await run_worker(mms_settings)  # tried, retried after the backoff, then given up
            assert leftovers(settings.attachments_dir) == []
        stored = await store_of(app).read(meldingen.by_reference, reference)
        assert stored is not None and stored.text == "Boom omgevallen op het fietspad"
        assert stored.attachments == []
        [media] = await store_of(app).read(media_store.media_of, stored.id)
        assert (media.state, media.attempts) == ("failed", 2)
        assert "could not be stored: ENOSPC: No space left on device" in (media.error or "")
        got = await melding(app, stored.id)
        assert got["mms_media"][0]["state"] == "failed"  # what the desk sees
    assert "mms media could not be stored: ENOSPC" in caplog.text
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [reference]
