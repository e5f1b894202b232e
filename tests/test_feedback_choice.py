"""The reporter's choice of news (issue 13 item 1): the web form's "by e-mail, by SMS or not at all"
decides every message, the acknowledgement included, whatever contact details were also given.

A real worker, a local SMTP relay and the stand-in for Twilio's REST API (tests/support/twilio.py),
as the other notification tests; on SQLite and PostgreSQL (the choice is a column of the melding).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import AsyncIterator
from email import message_from_bytes
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway import texts
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Melding, Status
from gateway.store import meldingen
from tests.support.api import api_get, store_of
from tests.support.data import LAMP_TEXT
from tests.support.http import RelayHandler
from tests.support.sms import decisions, message, set_status
from tests.support.sms import post as post_sms
from tests.support.twilio import FakeTwilio, jpeg, twilio_settings
from tests.support.webform import citizen_client, form_data, thanks_token
from tests.support.worker import run_worker

EMAIL = "an.peeters@example.be"
TYPED_PHONE = "0470 55 66 77"  # as a citizen types it; stored and texted in E.164
NUMBER = "+32470556677"
QUESTION = "Voor welk huisnummer staat de lamp?"

Client = TestClient[Any, Any]


@pytest.fixture
def both(settings: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]) -> Settings:
    """E-mail and SMS both configured: what a reporter gets is their choice, not what is set up."""
    return twilio_settings(settings, twilio, smtp_relay=smtp_relay[0])


@pytest.fixture
async def app(both: Settings) -> AsyncIterator[Client]:
    async with citizen_client(create_app(both)) as c:
        yield c


async def form_melding(app: Client, feedback: str) -> tuple[Melding, str]:
    """A form melding with an e-mail address and a mobile number both given; its tracking token."""
    data = form_data(
        description=LAMP_TEXT["text"],
        reporter_name="An Peeters",
        reporter_email=EMAIL,
        reporter_phone=TYPED_PHONE,
        feedback=feedback,
    )
    answer = await app.post("/", data=data, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    token = thanks_token(answer.headers["Location"])
    melding = await store_of(app).read(meldingen.by_token, token)
    assert melding is not None and melding.reporter.feedback == feedback
    return melding, token


async def walk(app: Client, settings: Settings, reference: str) -> None:
    """Routed and delivered (Geregistreerd), then planned by the case system."""
    await run_worker(settings)
    await set_status(app, reference, status="gepland", planned_date="2026-12-03", note="Ploeg komt langs.")
    await run_worker(settings)


async def reread(app: Client, reference: str) -> Melding:
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    return melding


async def test_sms_chosen_every_message_is_an_sms_and_a_reply_threads_onto_the_web_melding(
    app: Client, both: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]
) -> None:
    _, relay = smtp_relay
    melding, token = await form_melding(app, "sms")
    assert melding.reporter.phone == NUMBER
    await walk(app, both, melding.reference)
    history = [h.status for h in (await reread(app, melding.reference)).status_history]
    assert history == [Status.ONTVANGEN, Status.GEREGISTREERD, Status.GEPLAND]

    tracking = f"{both.public_url}/t/{token}"
    bodies = [m["Body"] for m in twilio.messages]
    assert {m["To"] for m in twilio.messages} == {NUMBER}
    assert len(bodies) == 3, bodies  # the receipt, then one per status change
    assert bodies[0].startswith("Meldpunt 1777: bedankt voor uw melding") and "elke stap een sms" in bodies[0]
    assert '"Geregistreerd"' in bodies[1] and '"Gepland"' in bodies[2] and "Ploeg komt langs." in bodies[2]
    assert all(melding.reference in b and tracking in b for b in bodies)
    assert relay.messages == []  # the address given is not written to
    store = store_of(app)
    assert [d[:1] + d[2:] for d in await decisions(store, "sms-ack")] == [("sent", NUMBER)]
    assert [d[0] for d in await decisions(store, "sms")] == ["sent", "sent"]
    assert await decisions(store, "email") == [] and await decisions(store, "email-ack") == []

    # the desk's question goes by SMS; the answer, an MMS with a photo, threads onto the web melding
    await set_status(app, melding.reference, status="wachten_op_antwoord", note=QUESTION)
    await run_worker(both)
    assert QUESTION in twilio.messages[-1]["Body"] and twilio.messages[-1]["To"] == NUMBER
    photo = jpeg((10, 10, 200))
    media = {"NumMedia": "1", "MediaUrl0": twilio.media_url("MM900", twilio.add_media(photo, "image/jpeg"))}
    resp = await post_sms(app, message("MM900", "Voor nummer 61, zie foto", NUMBER, **media))
    assert resp.status == 200 and "toegevoegd aan melding " + melding.reference in await resp.text()
    await run_worker(both)
    answered = await reread(app, melding.reference)
    assert [(f.channel, f.text) for f in answered.followups] == [("sms", "Voor nummer 61, zie foto")]
    assert answered.status == Status.IN_BEHANDELING  # back to the desk, as for an SMS melding
    assert [a.sha256 for a in answered.attachments] == [hashlib.sha256(photo).hexdigest()]
    assert '"In behandeling"' in twilio.messages[-1]["Body"]
    assert relay.messages == []


async def test_sms_chosen_by_a_number_that_opted_out_gets_nothing_and_no_mail_instead(
    app: Client, both: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]
) -> None:
    _, relay = smtp_relay
    assert (await post_sms(app, message("SM901", "STOP", NUMBER))).status == 200
    melding, _ = await form_melding(app, "sms")
    await walk(app, both, melding.reference)
    assert twilio.requests == 0 and relay.messages == []
    store = store_of(app)
    skipped = await decisions(store, "sms-ack") + await decisions(store, "sms")
    assert [d[:2] for d in skipped] == [("skipped", "opted out")] * 3


async def test_email_chosen_every_message_is_a_mail_and_no_sms(
    app: Client, both: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]
) -> None:
    _, relay = smtp_relay
    melding, token = await form_melding(app, "email")
    await walk(app, both, melding.reference)
    assert twilio.requests == 0  # the mobile number given is not texted
    assert [m.rcpt_tos for m in relay.messages] == [[EMAIL]] * 3
    mails = [message_from_bytes(m.original_content) for m in relay.messages]
    subjects = [m["Subject"] for m in mails]
    assert "Uw melding is ontvangen" in subjects[0] and mails[0]["Auto-Submitted"] == "auto-replied"
    assert "Geregistreerd" in subjects[1] and "Gepland" in subjects[2]
    assert all(melding.reference in s for s in subjects)
    assert f"{both.public_url}/t/{token}" in mails[0].get_payload(decode=True).decode()
    # an SMS from that number is no answer to this melding (its reporter is not texted): a new one
    resp = await post_sms(app, message("SM902", "Ook de lamp ernaast is kapot", NUMBER))
    answer = await resp.text()
    assert "Bedankt voor uw melding" in answer and melding.reference not in answer
    assert (await reread(app, melding.reference)).followups == []


async def test_none_chosen_nothing_is_sent_and_the_tracking_page_follows_it(
    app: Client, both: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]
) -> None:
    _, relay = smtp_relay
    melding, token = await form_melding(app, "none")
    await walk(app, both, melding.reference)
    assert twilio.requests == 0 and relay.messages == []
    # each status change records why nothing went out, for the desk
    decided = await decisions(store_of(app), "email")
    assert [d[:2] for d in decided] == [
        ("skipped", "reporter chose no messages (follows the tracking page)")
    ] * 2
    page = await app.get(f"/t/{token}")
    assert page.status == 200
    shown = html.unescape(await page.text())
    assert melding.reference in shown and texts.status_label(Status.GEPLAND, "nl") in shown
    assert "Ploeg komt langs." in shown


@pytest.mark.parametrize("feedback", ["email", "sms", "none"])
async def test_the_thanks_page_says_which_way_news_comes_in_each_language(app: Client, feedback: str) -> None:
    _, token = await form_melding(app, feedback)
    for lang in texts.LANGUAGES:
        page = await app.get(f"/bedankt/{token}?lang={lang}")
        assert page.status == 200
        shown = html.unescape(await page.text())
        expected = {
            "email": texts.text("thanks.next_email", lang, email=EMAIL),
            "sms": texts.text("thanks.next_sms", lang, phone="+32 470 55 66 77"),
            "none": texts.text("thanks.next_none", lang),
        }
        assert expected[feedback] in shown
        assert [t for k, t in expected.items() if k != feedback and t in shown] == []


async def test_the_json_intake_takes_the_choice_and_refuses_one_that_cannot_reach_the_reporter(
    app: Client, both: Settings, twilio: FakeTwilio, smtp_relay: tuple[str, RelayHandler]
) -> None:
    _, relay = smtp_relay
    reporter = {"name": "An Peeters", "email": EMAIL, "phone": TYPED_PHONE, "feedback": "sms"}
    resp = await app.post("/api/v1/meldingen", json={**LAMP_TEXT, "reporter": reporter})
    assert resp.status == 202, await resp.text()
    created = await resp.json()
    shown = await (await api_get(app, f"/api/v1/meldingen/{created['id']}")).json()
    assert shown["reporter"]["feedback"] == "sms" and shown["reporter"]["phone"] == NUMBER
    await run_worker(both)
    assert [m["To"] for m in twilio.messages] == [
        NUMBER
    ] * 2 and relay.messages == []  # receipt, Geregistreerd

    # the multipart form of the API takes it as a field of its own
    fields = {"text": "Put in de weg", "reporter_email": EMAIL, "reporter_feedback": "none"}
    parts = FormData(fields, default_to_multipart=True)
    resp = await app.post("/api/v1/meldingen", data=parts)
    assert resp.status == 202, await resp.text()
    shown = await (await api_get(app, f"/api/v1/meldingen/{(await resp.json())['id']}")).json()
    assert shown["reporter"]["feedback"] == "none"

    refused = [
        {"phone": "056 27 77 77", "feedback": "sms"},  # a landline cannot take an SMS
        {"email": EMAIL, "feedback": "sms"},
        {"phone": TYPED_PHONE, "feedback": "email"},
        {"email": EMAIL, "feedback": "post"},
    ]
    for reporter in refused:
        resp = await app.post("/api/v1/meldingen", json={"text": "Put in de weg", "reporter": reporter})
        assert resp.status == 422, reporter
        body = await resp.json()
        assert body["error"]["code"] == "invalid_melding" and "reporter" in body["error"]["message"]


async def test_a_choice_the_form_refuses_is_told_once_at_its_field(app: Client) -> None:
    """The form's own check names the problem; the API model's check of the same choice adds no
    second, vaguer error elsewhere on the page."""
    data = form_data(description="Put", reporter_email=EMAIL, reporter_phone="056 27 77 77", feedback="sms")
    answer = await app.post("/", data=data)
    assert answer.status == 422
    page = await answer.text()
    summary = page.split('id="error-summary"', 1)[1].split("</ul>", 1)[0]
    assert summary.count("<li>") == 1 and 'href="#reporter_phone"' in summary
    assert 'id="reporter_email-error"' not in page
