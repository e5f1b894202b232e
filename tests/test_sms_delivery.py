"""Delivery receipts of outbound SMS: every message asks for Twilio's StatusCallback, the signed
callback moves its status forward only, a transient carrier error has the part resent by a real
worker (through the local Twilio stand-in), a permanent one fails the notification decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from gateway.channels.twilio.sms_status import PATH as STATUS_PATH
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.queue import enqueue_notify
from gateway.store import meldingen, sms
from gateway.store.sms import SmsMessage
from tests.support.api import store_of
from tests.support.sms import NUMBER, OUR_NUMBER, decisions, message, new_sms_melding, set_status
from tests.support.sms import post as post_signed
from tests.support.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, twilio_settings
from tests.support.worker import run_worker, worker_ctx
from workers import sms_resend


@pytest.fixture
def sms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return twilio_settings(settings, twilio, sms_delivery_max_resends=2, sms_delivery_resend_delay=0.05)


@pytest.fixture
async def app(sms_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(sms_settings))) as c:
        yield c


def receipt(sid: str, status: str, code: int | None = None, to: str = NUMBER) -> dict[str, str]:
    """The form of Twilio's StatusCallback for an outbound message."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "To": to,
        "ApiVersion": "2010-04-01",
    }
    if code is not None:
        params["ErrorCode"] = str(code)
    return params


async def post_receipt(
    app: TestClient[Any, Any], params: dict[str, str], *, signature: str | None = None
) -> int:
    resp = await post_signed(app, params, path=STATUS_PATH, signature=signature)
    return resp.status


async def texted(app: TestClient[Any, Any], twilio: FakeTwilio, settings: Settings, body: str) -> str:
    """A new SMS melding whose status change was texted: the reference (one message sent)."""
    reference = await new_sms_melding(app, f"SM5{len(twilio.messages):02d}", body)
    await set_status(app, reference, status="in_behandeling")
    await run_worker(settings)
    return reference


async def messages_of(app: TestClient[Any, Any], reference: str) -> list[SmsMessage]:
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    return await store_of(app).read(sms.messages_of, melding.id)


async def counter(app: TestClient[Any, Any], outcome: str) -> float:
    text = await (await app.get("/metrics")).text()
    prefix = f'gateway_sms_delivery_total{{outcome="{outcome}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix)).split()[-1])


async def test_every_sms_asks_for_its_receipt_and_a_signed_receipt_moves_it_forward_only(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    [sent] = twilio.messages
    assert sent["StatusCallback"] == f"{sms_settings.public_url}/channels/twilio/sms/status"
    [row] = await messages_of(app, reference)
    assert (row.sid, row.recipient, row.body, row.channel) == (sent["sid"], NUMBER, sent["Body"], "sms")
    assert (row.status, row.part, row.parts, row.resends) == ("queued", 1, 1, 0)

    for status in ("sending", "sent", "delivered"):
        assert await post_receipt(app, receipt(sent["sid"], status)) == 204
        assert (await messages_of(app, reference))[0].status == status
    # late or contradicting callbacks change nothing once it is delivered
    for status in ("sent", "queued", "undelivered"):
        assert (
            await post_receipt(app, receipt(sent["sid"], status, 30003 if status != "sent" else None)) == 204
        )
    [row] = await messages_of(app, reference)
    assert (row.status, row.error_code, row.resend_at) == ("delivered", None, None)
    await run_worker(sms_settings)
    assert twilio.requests == 1
    assert [d[0] for d in await decisions(store_of(app), "sms")] == ["sent"]
    assert await counter(app, "delivered") == 1 and await counter(app, "undelivered") == 0


async def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    sid = twilio.messages[0]["sid"]
    assert await post_receipt(app, receipt(sid, "undelivered", 30006), signature="") == 403
    assert await post_receipt(app, receipt(sid, "undelivered", 30006), signature="Zm9yZ2Vk") == 403
    # signed for other parameters: the status was changed on the way
    resp = await app.post(
        STATUS_PATH,
        data=receipt(sid, "undelivered", 30006),
        headers={"X-Twilio-Signature": _signature(receipt(sid, "delivered"))},
    )
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_signature"
    [row] = await messages_of(app, reference)
    assert row.status == "queued" and row.error_code is None
    assert [d[0] for d in await decisions(store_of(app), "sms")] == ["sent"]
    metrics = await (await app.get("/metrics")).text()
    assert 'gateway_intake_rejected_total{channel="sms",code="invalid_signature"} 3.0' in metrics


def _signature(params: dict[str, str]) -> str:
    return str(
        RequestValidator(AUTH_TOKEN).compute_signature("https://meldpunt.example" + STATUS_PATH, params)
    )


async def test_without_an_auth_token_the_callback_answers_503(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(settings))) as c:
        resp = await c.post(STATUS_PATH, data=receipt("SM" + "0" * 32, "delivered"))
        assert resp.status == 503


async def test_an_unknown_message_sid_is_answered_204_and_stores_nothing(
    app: TestClient[Any, Any], twilio: FakeTwilio
) -> None:
    assert await post_receipt(app, receipt("SM" + "f" * 32, "undelivered", 30003)) == 204
    assert await store_of(app).lookup(sms.get_message, "SM" + "f" * 32) is None
    assert twilio.requests == 0


async def test_a_transient_error_has_the_same_part_resent_then_delivered(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    first = twilio.messages[0]
    assert await post_receipt(app, receipt(first["sid"], "undelivered", 30003)) == 204
    assert await post_receipt(app, receipt(first["sid"], "undelivered", 30003)) == 204  # Twilio repeats
    await run_worker(sms_settings)
    assert twilio.requests == 2
    again = twilio.messages[1]
    assert (again["Body"], again["To"], again["From"]) == (first["Body"], first["To"], first["From"])
    assert again["StatusCallback"] == first["StatusCallback"] and again["sid"] != first["sid"]
    failed, resent = await messages_of(app, reference)
    assert (failed.status, failed.error_code, failed.resent_as) == ("undelivered", 30003, again["sid"])
    assert (resent.sid, resent.resend_of, resent.resends, resent.status) == (
        again["sid"],
        first["sid"],
        1,
        "queued",
    )

    assert await post_receipt(app, receipt(again["sid"], "delivered")) == 204
    assert (await messages_of(app, reference))[1].status == "delivered"
    assert [d[0] for d in await decisions(store_of(app), "sms")] == ["sent"]
    # done: neither the sweep nor a repeated job sends it a third time
    async with worker_ctx(sms_settings) as ctx:
        assert await sms_resend.sweep_resends(ctx) == 0
        assert await sms_resend.resend(ctx, first["sid"]) == "nothing to do"
    assert twilio.requests == 2
    assert [await counter(app, o) for o in ("undelivered", "resent", "delivered")] == [1, 1, 1]


async def test_resends_exhausted_fail_the_decision(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    for n in range(sms_settings.sms_delivery_max_resends + 1):
        assert await post_receipt(app, receipt(twilio.messages[-1]["sid"], "undelivered", 30008)) == 204
        await run_worker(sms_settings)
        assert twilio.requests == min(n + 2, sms_settings.sms_delivery_max_resends + 1)
    rows = await messages_of(app, reference)
    assert [r.resends for r in rows] == list(range(sms_settings.sms_delivery_max_resends + 1))
    assert {r.body for r in rows} == {twilio.messages[0]["Body"]}
    [(state, detail, recipient)] = await decisions(store_of(app), "sms")
    assert state == "failed" and recipient == NUMBER
    assert "30008" in detail and "unknown error" in detail and rows[-1].sid in detail
    assert f"{sms_settings.sms_delivery_max_resends} resends spent" in detail


async def test_a_permanent_error_fails_the_decision_at_once(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio, redis_client: aioredis.Redis
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    sid = twilio.messages[0]["sid"]
    assert await post_receipt(app, receipt(sid, "undelivered", 30006)) == 204
    await run_worker(sms_settings)
    assert twilio.requests == 1
    [row] = await messages_of(app, reference)
    assert (row.status, row.error_code, row.resend_at) == ("undelivered", 30006, None)
    [(state, detail, _)] = await decisions(store_of(app), "sms")
    assert state == "failed" and "30006" in detail and "landline" in detail
    # the notify job run again (a lost job, a retry) does not text it again
    await enqueue_notify(redis_client, sms_settings.queue_name, row.melding_id, row.history_id)  # type: ignore[arg-type]
    await run_worker(sms_settings)
    assert twilio.requests == 1
    assert [d[0] for d in await decisions(store_of(app), "sms")] == ["failed"]


async def test_twilio_21610_in_a_receipt_records_the_opt_out(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    assert await post_receipt(app, receipt(twilio.messages[0]["sid"], "failed", 21610)) == 204
    assert await store_of(app).lookup(sms.opted_out, NUMBER)
    [(state, detail, _)] = await decisions(store_of(app), "sms")
    assert state == "failed" and "21610" in detail
    await set_status(app, reference, status="behandeld")
    await run_worker(sms_settings)
    assert twilio.requests == 1
    assert (await decisions(store_of(app), "sms"))[-1][:2] == ("skipped", "opted out")


async def test_a_resend_never_goes_to_a_number_that_opted_out_meanwhile(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    assert await post_receipt(app, receipt(twilio.messages[0]["sid"], "undelivered", 30003)) == 204
    await post_signed(app, message("SM990", "STOP", NUMBER))
    await run_worker(sms_settings)
    assert twilio.requests == 1
    [(state, detail, _)] = await decisions(store_of(app), "sms")
    assert state == "failed" and "30003" in detail and "not resent: the number opted out" in detail


async def test_the_sweep_schedules_a_resend_whose_job_was_lost(
    app: TestClient[Any, Any],
    sms_settings: Settings,
    twilio: FakeTwilio,
    redis_client: aioredis.Redis,
    clock: time_machine.Traveller,
) -> None:
    await texted(app, twilio, sms_settings, "Lamp kapot in de Doorniksestraat")
    assert await post_receipt(app, receipt(twilio.messages[0]["sid"], "undelivered", 30001)) == 204
    await redis_client.flushdb()  # Redis restarted empty: the resend job is gone
    await run_worker(sms_settings)
    assert twilio.requests == 1
    clock.shift(0.2)  # past the resend's due time
    async with worker_ctx(sms_settings) as ctx:
        assert await sms_resend.sweep_resends(ctx) == 1
        assert await sms_resend.sweep_resends(ctx) == 0  # queued already: keyed on the failed sid
    await run_worker(sms_settings)
    assert twilio.requests == 2 and twilio.messages[1]["Body"] == twilio.messages[0]["Body"]


async def test_only_the_undelivered_part_of_a_long_text_is_resent(
    app: TestClient[Any, Any], sms_settings: Settings, twilio: FakeTwilio
) -> None:
    reference = await new_sms_melding(app, "SM700", "Lamp kapot in de Doorniksestraat")
    question = " ".join(
        f"Vraag {n}: staat paal {n}00 aan de kant van de oneven huisnummers?" for n in range(1, 6)
    )
    settings = sms_settings.model_copy(update={"sms_max_segments": 1})
    await set_status(app, reference, status="wachten_op_antwoord", note=question)
    await run_worker(settings)
    parts = list(twilio.messages)
    assert len(parts) >= 2 and all(p["StatusCallback"].endswith(STATUS_PATH) for p in parts)
    assert await post_receipt(app, receipt(parts[1]["sid"], "undelivered", 30017)) == 204
    await run_worker(settings)
    assert len(twilio.messages) == len(parts) + 1 and twilio.messages[-1]["Body"] == parts[1]["Body"]
    rows = await messages_of(app, reference)
    assert [(r.part, r.parts) for r in rows if r.resend_of] == [(2, len(parts))]
    assert [d[0] for d in await decisions(store_of(app), "sms-question")] == ["sent"]
