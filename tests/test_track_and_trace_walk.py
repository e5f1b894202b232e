"""Issue 12's walk: one melding through Geregistreerd -> In behandeling -> Gepland -> Behandeld,
each step set in TOPdesk (the stand-in) and read back by the poller, with an e-mail per step, an
SMS per step to the reporter of the same lamp who wrote by SMS (a duplicate), a push per step to
the citizen's portal (DOSIS, the stand-in), and on the way a Wachten op antwoord question whose
SMS answer threads back onto the melding and reaches the TOPdesk incident as an action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from email import message_from_bytes
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import meldingen, pushes
from tests.support import sms
from tests.support.api import melding, store_of
from tests.support.data import LAMP_TEXT
from tests.support.http import RelayHandler
from tests.support.portal import FakePortal, dosis_feed, fake_portal, with_feeds
from tests.support.topdesk import FakeTopdesk, topdesk_settings
from tests.support.twilio import FakeTwilio, twilio_settings
from tests.support.worker import run_worker, worker_ctx
from workers import case_status

CITIZEN = "93.05.18-223.61"  # the web reporter, logged in to the portal
SMS_REPORTER = "+32470999111"
LAMP_BY_SMS = "De straatlamp in de Loofstraat 61 brandt niet meer, de straat is helemaal donker."
QUESTION = "Welk nummer staat op de lichtmast?"
ANSWER = "Er staat nummer 4711 op de paal"


@pytest.fixture
async def portal() -> AsyncIterator[FakePortal]:
    async with fake_portal() as fake:
        yield fake


@pytest.fixture
def walk_settings(
    settings: Settings,
    topdesk: FakeTopdesk,
    twilio: FakeTwilio,
    portal: FakePortal,
    smtp_relay: tuple[str, RelayHandler],
) -> Settings:
    on = twilio_settings(topdesk_settings(settings, topdesk), twilio, smtp_relay=smtp_relay[0])
    return with_feeds(on, dosis_feed(portal))


@pytest.fixture
async def app(walk_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(walk_settings))) as c:
        yield c


async def step(settings: Settings) -> str:
    """The poller reads TOPdesk, then the worker runs what that set in motion."""
    async with worker_ctx(settings) as ctx:
        polled = await case_status.poll_case_status(ctx)
    await run_worker(settings)
    return polled


def mail_bodies(handler: RelayHandler, address: str) -> list[tuple[str, str]]:
    found = [message_from_bytes(e.original_content) for e in handler.messages if e.rcpt_tos == [address]]
    return [(m["Subject"], m.get_payload(decode=True).decode()) for m in found]


def texts_to(twilio: FakeTwilio, number: str) -> list[str]:
    return [m["Body"] for m in twilio.messages if m["To"] == number]


async def test_one_melding_walks_to_behandeld_with_mail_sms_and_portal_at_every_step(
    app: TestClient[Any, Any],
    walk_settings: Settings,
    topdesk: FakeTopdesk,
    twilio: FakeTwilio,
    portal: FakePortal,
    smtp_relay: tuple[str, RelayHandler],
) -> None:
    _, relay = smtp_relay
    resp = await app.post("/api/v1/meldingen", json={**LAMP_TEXT, "national_register_number": CITIZEN})
    assert resp.status == 202
    first = await resp.json()
    await run_worker(walk_settings)
    second_ref = await sms.new_sms_melding(app, "SM" + "1" * 32, LAMP_BY_SMS, SMS_REPORTER)
    await run_worker(walk_settings)
    found = await store_of(app).read(meldingen.by_reference, second_ref)
    assert found is not None
    second = await melding(app, found.id)
    assert second["duplicate_of"] == first["id"]  # the same lamp: one incident, two reporters
    [incident] = topdesk.by_reference(first["reference"])
    assert topdesk.by_reference(second_ref) == []

    topdesk.set_status(first["reference"], "In behandeling")
    assert await step(walk_settings) == "1 applied of 1 read"
    topdesk.set_status(first["reference"], "Wachten op melder", action=QUESTION)
    assert await step(walk_settings) == "1 applied of 1 read"
    # the question reached both reporters; the one who wrote by SMS answers by SMS
    assert QUESTION in mail_bodies(relay, "an@example.be")[-1][1]
    assert QUESTION in texts_to(twilio, SMS_REPORTER)[-1]
    resp = await sms.post(app, sms.message("SM" + "2" * 32, ANSWER, SMS_REPORTER))
    assert resp.status == 200 and second_ref in await resp.text()  # threaded: no new melding
    await run_worker(walk_settings)
    [answer] = [a for a in topdesk.actions[incident["id"]] if ANSWER in a["plainText"]]
    assert answer["invisibleForCaller"] and "Reactie van de melder" in answer["plainText"]
    assert second_ref in answer["plainText"]  # which of the incident's reporters wrote it

    topdesk.set_status(
        first["reference"], "Gepland", target_date=date(2026, 12, 9), action="Herstelling gepland."
    )
    assert await step(walk_settings) == "1 applied of 1 read"
    topdesk.set_status(first["reference"], "Afgemeld", closed=True, action="De lamp brandt weer.")
    assert await step(walk_settings) == "1 applied of 1 read"

    walked = ["geregistreerd", "in_behandeling", "wachten_op_antwoord", "gepland", "behandeld"]
    master = await melding(app, first["id"])
    assert [h["status"] for h in master["status_history"]] == ["ontvangen", *walked]
    duplicate = await melding(app, second["id"])
    assert [h["status"] for h in duplicate["status_history"]] == [
        "ontvangen",
        "geregistreerd",
        "in_behandeling",
        "wachten_op_antwoord",
        "in_behandeling",  # the reporter's answer took it back to the desk
        "gepland",
        "behandeld",
    ]
    assert duplicate["followups"][0]["text"] == ANSWER

    # an e-mail per step to the web reporter
    mails = mail_bodies(relay, "an@example.be")
    labels = ["Geregistreerd", "In behandeling", "Wachten op antwoord", "Gepland", "Behandeld"]
    assert len(mails) == len(labels)
    for (subject, _), label in zip(mails, labels, strict=True):
        assert first["reference"] in subject and label in subject
    assert "09/12/2026" in mails[3][1] and "brandt weer" in mails[4][1]
    # an SMS per step to the reporter who wrote by SMS (the question as a question)
    sent = texts_to(twilio, SMS_REPORTER)
    expected = ["Geregistreerd", "In behandeling", QUESTION, "In behandeling", "Gepland", "Behandeld"]
    assert len(sent) == len(expected)
    for body, what in zip(sent, expected, strict=True):
        assert second_ref in body and what in body
    # a push per step to the citizen's portal, for the melding linked to the citizen only
    assert [b["StatusCode"] for b in portal.received] == walked
    assert {b["DossierNummer"] for b in portal.received} == {first["reference"]}
    assert portal.received[2]["ActieNodig"] is True and portal.received[2]["Actie"] == QUESTION
    assert all(b["Agenten"] == [{"Rijksregisternummer": "93051822361"}] for b in portal.received)
    assert await store_of(app).read(pushes.of_melding, second["id"]) == []

    # polled again: nothing changes, nothing is sent twice
    assert await step(walk_settings) == "0 applied of 0 read"
    assert len(relay.messages) == len(labels) and len(twilio.messages) == len(expected)
    assert len(portal.received) == len(walked)
