"""Outbound SMS: status notifications, the desk's questions and call acknowledgements, sent through
the twilio library to a local stand-in for Twilio's REST API (tests/support/twilio.py), by a real worker."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.channels.twilio import segments as sms_text
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import meldingen, sms
from tests.support.api import store_of
from tests.support.http import Receiver
from tests.support.phone import CALL, PHONE_SECRET
from tests.support.phone import post as post_call
from tests.support.sms import NUMBER, REFERENCE, decisions, message, new_sms_melding, set_status
from tests.support.sms import post as post_sms
from tests.support.twilio import AUTH_TOKEN, OUR_NUMBER, FakeTwilio, twilio_settings
from tests.support.voice import post_all as voice_post_all
from tests.support.voice import status as voice_status
from tests.support.voice import voicemail
from tests.support.worker import run_worker


@pytest.fixture
def sms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return twilio_settings(settings, twilio, phone_secret=PHONE_SECRET)


@pytest.fixture
async def app(sms_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(sms_settings))) as c:
        yield c


@pytest.mark.parametrize(
    "text, label, planned",
    [
        ("Er ligt een sluikstort naast de glasbak in de Budastraat", "Gepland", "Gepland op: 03/12/2026"),
        ("Bonjour, il y a des déchets dans la rue devant chez nous", "Planifié", "Prévu le : 03/12/2026"),
        ("Hello, there is a lot of rubbish dumped in the street near the station", "Scheduled", None),
    ],
)
async def test_status_changes_are_texted_in_the_reporters_language(
    app: TestClient[Any, Any],
    sms_settings: Settings,
    twilio: FakeTwilio,
    text: str,
    label: str,
    planned: str | None,
) -> None:
    reference = await new_sms_melding(app, "SM100", text)
    await run_worker(sms_settings)
    await set_status(app, reference, status="gepland", planned_date="2026-12-03", note="Ploeg komt langs.")
    await run_worker(sms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    tracking = f"{sms_settings.public_url}/t/{melding.tracking_token}"
    texts = [m for m in twilio.messages if f'"{label}"' in m["Body"]]
    assert len(texts) == 1, [m["Body"] for m in twilio.messages]
    sent = texts[0]
    assert sent["To"] == NUMBER and sent["From"] == OUR_NUMBER
    assert reference in sent["Body"] and tracking in sent["Body"] and "Ploeg komt langs." in sent["Body"]
    if planned:
        assert planned in sent["Body"]
    assert sms_text.is_gsm(sent["Body"]) or melding.language == "fr"
    # every status change got exactly one decision on the sms channel, and none was a receipt
    sent_rows = [d for d in await decisions(store_of(app), "sms") if d[0] == "sent"]
    assert len(sent_rows) == len(twilio.messages)
    assert {d[2] for d in sent_rows} == {NUMBER}
    assert all(d[1].startswith("SM") for d in sent_rows)


async def test_the_desks_question_is_texted_and_the_reply_threads_onto_the_melding(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await new_sms_melding(app, "SM110", "Er ligt een sluikstort naast de glasbak")
    await run_worker(sms_settings)
    question = "Aan welk huisnummer ligt het sluikstort precies?"
    await set_status(app, reference, status="wachten_op_antwoord", note=question)
    await run_worker(sms_settings)
    [asked] = [m for m in twilio.messages if question in m["Body"]]
    assert reference in asked["Body"] and "Antwoord met een sms op dit nummer" in asked["Body"]
    assert [d[0] for d in await decisions(store_of(app), "sms-question")] == ["sent"]

    # the reporter answers the SMS: a follow-up, and the melding goes back to the desk
    resp = await post_sms(app, message("SM111", "Aan nummer 14", NUMBER))
    assert "toegevoegd aan melding " + reference in await resp.text()
    await run_worker(sms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    assert [f.text for f in melding.followups] == ["Aan nummer 14"]
    assert melding.status == "in_behandeling"
    assert '"In behandeling"' in twilio.messages[-1]["Body"]


async def test_an_opted_out_number_is_never_texted(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await new_sms_melding(app, "SM120", "Lamp kapot in de Doorniksestraat")
    await post_sms(app, message("SM121", "STOP", NUMBER))
    await run_worker(sms_settings)
    await set_status(app, reference, status="in_behandeling")
    await run_worker(sms_settings)
    assert twilio.requests == 0
    rows = await decisions(store_of(app), "sms")
    assert rows and all(state == "skipped" and detail == "opted out" for state, detail, _ in rows)


async def test_twilio_21610_records_the_opt_out(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await new_sms_melding(app, "SM130", "Lamp kapot in de Doorniksestraat")
    twilio.fail_next(400, 21610)
    await set_status(app, reference, status="in_behandeling")
    await run_worker(sms_settings)
    assert twilio.requests == 1 and twilio.messages == []  # permanent: not retried
    assert await store_of(app).lookup(sms.opted_out, NUMBER)
    [failed] = await decisions(store_of(app), "sms")
    assert failed[0] == "failed" and "21610" in failed[1]
    await set_status(app, reference, status="behandeld")
    await run_worker(sms_settings)
    assert twilio.requests == 1  # the next change is not even tried
    assert (await decisions(store_of(app), "sms"))[-1][:2] == ("skipped", "opted out")


@pytest.mark.parametrize("status", [500, 429])
async def test_a_transient_failure_is_retried(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio, status: int
) -> None:
    reference = await new_sms_melding(app, "SM140", "Lamp kapot in de Doorniksestraat")
    twilio.fail_next(status)
    await set_status(app, reference, status="in_behandeling")
    await run_worker(sms_settings)
    assert twilio.requests == 2 and len(twilio.messages) == 1
    assert [d[0] for d in await decisions(store_of(app), "sms")] == ["sent"]


async def test_a_long_question_is_sent_in_numbered_parts_and_a_retry_resends_only_the_missing_part(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await new_sms_melding(app, "SM150", "Lamp kapot in de Doorniksestraat")
    question = " ".join(
        f"Vraag {n}: staat de paal met nummer {n}00 aan de kant van de oneven huisnummers of niet?"
        for n in range(1, 9)
    )
    settings = sms_settings.model_copy(update={"sms_max_segments": 2})
    twilio.failures = [None, (500, 20500)]  # part 1 goes, part 2 fails once
    await set_status(app, reference, status="wachten_op_antwoord", note=question)
    await run_worker(settings)
    bodies = [m["Body"] for m in twilio.messages]
    count = len(bodies)
    assert count >= 3
    assert [re.match(r"\((\d+)/(\d+)\) ", b).groups() for b in bodies] == [  # type: ignore[union-attr]
        (str(k), str(count)) for k in range(1, count + 1)
    ]
    assert all(sms_text.segments(b) <= 2 for b in bodies)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    tracking = f"{settings.public_url}/t/{melding.tracking_token}"
    assert sum(tracking in b for b in bodies) == 1  # the link whole, in one part
    joined = " ".join(re.sub(r"^\(\d+/\d+\) ", "", b) for b in bodies)
    assert question in joined  # nothing lost, no word cut
    assert twilio.requests == count + 1  # only the failed part was sent again
    [row] = await decisions(store_of(app), "sms-question")
    assert row[0] == "sent" and row[1].startswith(f"{count} parts")


async def test_without_twilio_credentials_the_skip_is_recorded(
    settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    partial = settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "twilio_api_url": twilio.url})
    async with TestClient(TestServer(create_app(partial))) as c:
        reference = await new_sms_melding(c, "SM160", "Lamp kapot in de Doorniksestraat")
        await set_status(c, reference, status="in_behandeling")
        await run_worker(partial)
        [row] = await decisions(store_of(c), "sms")
        assert row[0] == "skipped"
        assert row[1] == "GATEWAY_TWILIO_ACCOUNT_SID, GATEWAY_TWILIO_NUMBER are not set"
    assert twilio.requests == 0


async def test_a_caller_on_a_mobile_number_gets_an_sms_acknowledgement(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    mobile = await post_call(app, CALL)
    landline = await post_call(app, {**CALL, "call_id": "call-landline", "caller_number": "056 27 77 77"})
    answered = await post_call(app, {**CALL, "call_id": "call-answered", "outcome": "answered"})
    assert {mobile.status, landline.status, answered.status} == {202}
    await run_worker(sms_settings)
    mobile_ref = (await mobile.json())["reference"]
    acks = [m for m in twilio.messages if "Bedankt voor uw oproep" in m["Body"]]
    assert [(m["To"], mobile_ref in m["Body"]) for m in acks] == [("+32470123456", True)]
    assert (await mobile.json())["tracking_url"] in acks[0]["Body"]
    rows = await decisions(store_of(app), "sms-ack")
    assert sorted(r[:2] for r in rows) == sorted(
        [("sent", acks[0]["sid"]), ("skipped", "caller number is not a mobile number")]
    )
    # no status SMS to callers: the channel was the phone
    assert await decisions(store_of(app), "sms") == []
    off = sms_settings.model_copy(update={"sms_ack_phone_calls": False})
    await post_call(app, {**CALL, "call_id": "call-off"})
    await run_worker(off)
    assert len([m for m in twilio.messages if "Bedankt voor uw oproep" in m["Body"]]) == 1
    assert ("skipped", "sms_ack_phone_calls is off") in [
        r[:2] for r in await decisions(store_of(app), "sms-ack")
    ]


async def test_twilio_voice_callers_get_the_acknowledgement_too(
    sms_settings: Settings, twilio: FakeTwilio
) -> None:
    """A call completed by its callbacks (HTTP) and one made a melding by the settle job (worker)."""
    quick = sms_settings.model_copy(update={"voice_settle_seconds": 0.3})
    async with TestClient(TestServer(create_app(quick))) as c:
        await voice_post_all(c, voicemail("CA900"))
        await voice_post_all(
            c, [voice_status("CA901", "ringing", 0), voice_status("CA901", "in-progress", 1)]
        )
        await run_worker(quick)
        acks = [m for m in twilio.messages if "Bedankt voor uw oproep" in m["Body"]]
        references = {m.reference for m in await store_of(c).read(meldingen.list_meldingen)}
        assert len(references) == 2
        assert sorted(m["To"] for m in acks) == ["+32470123456", "+32470123456"]
        assert {REFERENCE.search(m["Body"]).group(0) for m in acks} == references  # type: ignore[union-attr]
