"""The desk in headless Chromium: log in, route one melding from triage, answer another (the reporter
gets the answer by mail); ask the reporter a question and see the e-mailed reply arrive; confirm a
duplicate suggestion, split a link, resend a dead delivery.
Screenshots of each step in test-artifacts/screenshots/ (tests/support/browser.py)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page
from sqlalchemy import update

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Stage
from gateway.store.schema import meldingen
from tests.support.api import melding, post, store_of
from tests.support.browser import axe_violations, screenshot_path
from tests.support.data import LAMP_PIN, LAMP_TEXT, MELDPUNT, TILE
from tests.support.desk import PASSWORD, add_operator
from tests.support.http import Receiver, RelayHandler, free_port
from tests.support.worker import run_worker

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def site(on: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(on))) as c:
        await add_operator(store_of(c), "an")
        yield c


async def _triage(site: TestClient[Any, Any], text: str, received_at: datetime) -> dict[str, Any]:
    created = await post(site, {**TILE, "text": text})

    def move(conn: Any) -> None:
        alternatives = [["nette_stad", 0.52], ["wegen", 0.3], ["groen", 0.1]]
        values = {"stage": Stage.TRIAGE.value, "received_at": received_at, "alternatives": alternatives}
        conn.execute(update(meldingen).where(meldingen.c.id == created["id"]).values(**values))

    await store_of(site).write(move)
    return created


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=screenshot_path(f"desk_{name}"), full_page=True)


async def _log_in(page: Page, url: str) -> None:
    await page.goto(url)
    await page.fill("#name", "an")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(url)


def _reply_by_mail(port: int, question: EmailMessage, text: str) -> tuple[int, bytes]:
    """The reporter answers our question from their mail program: a real SMTP session."""
    reply = EmailMessage()
    reply["From"] = "An Peeters <an@example.be>"
    reply["To"] = MELDPUNT
    reply["Subject"] = f"Re: {question['Subject']}"
    reply["In-Reply-To"] = reply["References"] = question["Message-ID"]
    reply.set_content(f"{text}\n\nOp 3 dec. 2026 schreef Meldpunt 1777:\n> {question['Subject']}")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.send_message(reply, "an@example.be", [MELDPUNT]) or (250, b"")


async def test_an_operator_logs_in_routes_from_triage_and_answers_a_question(
    site: TestClient[Any, Any], page: Page, on: Settings, smtp_relay: tuple[str, RelayHandler]
) -> None:
    oldest = await _triage(
        site, "Er ligt zwerfvuil langs de Leie aan de Broeltorens.", datetime(2026, 11, 1, tzinfo=UTC)
    )
    question = await _triage(
        site, "Wanneer is het recyclagepark open op zaterdag?", datetime(2026, 11, 2, tzinfo=UTC)
    )
    await page.goto(str(site.make_url("/desk/triage")))
    assert page.url.endswith("/desk/login?next=/desk/triage")
    await page.fill("#name", "an")
    await page.fill("#password", PASSWORD)
    await _shot(page, "1_login")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/desk/triage")
    assert await axe_violations(page) == []
    items = page.locator("li.item")
    assert await items.count() == 2
    assert await items.first.get_attribute("data-reference") == oldest["reference"]  # the oldest first
    await _shot(page, "2_triage")

    await items.first.get_by_role("button", name="Nette Stad 52%").click()
    await page.wait_for_url("**/desk/triage")
    assert f"{oldest['reference']} doorgestuurd naar Nette Stad." in await page.inner_text(".flash")
    assert await page.locator("li.item").count() == 1  # the next one
    routed = await melding(site, oldest["id"])
    assert (routed["stage"], routed["routed_by"]) == ("received", "desk:an")  # the worker's turn

    await page.click(f"text={question['reference']}")
    await page.wait_for_url(f"**/desk/meldingen/{question['id']}")
    answer = "Het recyclagepark is op zaterdag open van 9 tot 16 uur."
    await page.fill("#answer", answer)
    await _shot(page, "3_melding")
    await page.get_by_role("button", name="Beantwoord").click()
    await page.wait_for_url(f"**/desk/meldingen/{question['id']}")
    assert await page.inner_text("#status") == "Beantwoord"
    last_row = page.locator("#history tbody tr").last
    assert "1777-balie: an" in await last_row.inner_text() and answer in await last_row.inner_text()
    assert await axe_violations(page) == []
    await run_worker(on)
    mails = [message_from_bytes(e.original_content) for e in smtp_relay[1].messages]
    assert any(question["reference"] in str(m["Subject"]) and answer in m.as_string() for m in mails)


async def test_an_operator_confirms_a_duplicate_splits_a_link_resends_a_dead_delivery(
    site: TestClient[Any, Any], page: Page, on: Settings, receiver: Receiver
) -> None:
    receiver.responses = [400]  # the case system refuses the first melding for good: dead
    dead = await post(site, TILE)
    await run_worker(on)
    first = await post(
        site, {**LAMP_PIN, "reporter": {"name": "Cas"}, "location": {"lat": 50.82166, "lon": 3.27034}}
    )
    await run_worker(on)
    second = await post(
        site, {**LAMP_PIN, "location": {"lat": 50.82166, "lon": 3.27124}}
    )  # 63 m: a suggestion
    await run_worker(on)
    master = await post(site, LAMP_TEXT)
    await run_worker(on)
    linked = await post(site, LAMP_PIN)  # the same lamp: linked by the worker
    await run_worker(on)
    assert (await melding(site, linked["id"]))["duplicate_of"] == master["id"]

    await page.goto(str(site.make_url("/desk/duplicates")))
    await page.fill("#name", "an")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/desk/duplicates")
    pair = page.locator(f'section.pair[data-reference="{second["reference"]}"]')
    assert first["reference"] in await pair.inner_text()
    assert await axe_violations(page) == []
    await _shot(page, "4_duplicates")
    await pair.get_by_role("button", name="Bevestigen: zelfde probleem").click()
    await page.wait_for_url("**/desk/duplicates")
    assert f"{second['reference']} gekoppeld aan {first['reference']}." in await page.inner_text(".flash")
    assert (await melding(site, second["id"]))["duplicate_of"] == first["id"]

    await page.goto(str(site.make_url(f"/desk/meldingen/{linked['id']}")))
    assert master["reference"] in await page.inner_text("#master")
    await page.get_by_role("button", name="Loskoppelen: een eigen melding").click()
    await page.wait_for_url(f"**/desk/meldingen/{linked['id']}")
    assert "losgekoppeld" in await page.inner_text(".flash")
    assert "Losgekoppeld van" in await page.inner_text("#history")
    assert (await melding(site, linked["id"]))["duplicate_of"] is None

    await page.goto(str(site.make_url(f"/desk/meldingen/{dead['id']}")))
    assert await page.locator('#deliveries tr[data-state="dead"]').count() == 1
    assert await axe_violations(page) == []
    await _shot(page, "5_melding_dead")
    await page.get_by_role("button", name="Opnieuw versturen").click()
    await page.wait_for_url(f"**/desk/meldingen/{dead['id']}")
    assert "opnieuw verstuurd" in await page.inner_text(".flash")
    await run_worker(on)
    await page.reload()
    assert await page.locator('#deliveries tr[data-state="delivered"]').count() == 1
    assert await page.inner_text("#status") == "Geregistreerd"
    assert await page.locator("#map").count() == 1 and await page.locator("#dossier").count() == 1
    await _shot(page, "6_melding")


async def test_an_operator_asks_the_reporter_and_sees_the_reply_arrive(
    site: TestClient[Any, Any], page: Page, on: Settings, smtp_relay: tuple[str, RelayHandler]
) -> None:
    created = await post(site, TILE)
    await run_worker(on)  # delivered to the case system: geregistreerd
    melding_url = str(site.make_url(f"/desk/meldingen/{created['id']}"))
    await _log_in(page, melding_url)
    question = "Aan welke kant van de straat ligt de tegel?"
    await page.fill("#question", question)
    await page.get_by_role("button", name="Wachten op antwoord").click()
    await page.wait_for_url(melding_url)
    assert await page.inner_text("#status") == "Wachten op antwoord"
    await page.goto(str(site.make_url("/desk/waiting")))
    assert await page.locator(f'tr[data-reference="{created["reference"]}"]').count() == 1
    await run_worker(on)  # the question goes out by the reporter's channel: e-mail
    mails = [
        message_from_bytes(e.original_content, policy=policy.default)
        for e in smtp_relay[1].messages
        if e.rcpt_tos == ["an@example.be"]
    ]
    [sent] = [m for m in mails if question in m.get_body(("plain",)).get_content()]
    server = await start_smtp(on, mail_intake(site.app), port=free_port())
    try:
        port = server.sockets[0].getsockname()[1]
        await asyncio.to_thread(_reply_by_mail, port, sent, "Aan de pare kant, bij nummer 12.")
    finally:
        server.close()
        await server.wait_closed()
    await run_worker(on)  # the reply goes on to the case system as a follow-up

    await page.goto(melding_url)
    assert await page.inner_text("#status") == "In behandeling"  # back to the desk
    assert "Aan de pare kant, bij nummer 12." in await page.inner_text("#messages")
    assert "Op 3 dec. 2026 schreef" not in await page.inner_text("#messages")  # the quote is stripped
    await _shot(page, "7_reply_arrived")
    await page.goto(str(site.make_url("/desk/waiting")))
    assert await page.locator(f'tr[data-reference="{created["reference"]}"]').count() == 0
