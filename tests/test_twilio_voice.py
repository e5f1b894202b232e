"""Twilio Voice callbacks: signed, assembled per CallSid into one melding in any order, settled by
the worker when the call goes quiet, late transcriptions as follow-ups."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from gateway.channels.twilio.voicecall import Callback, VoiceCall, apply, complete
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Channel, Melding, Stage
from gateway.store import Store, meldingen, voice_calls
from gateway.store.schema import inbound_messages
from tests.support.api import store_of
from tests.support.voice import (
    CALLER,
    OUR_NUMBER,
    PUBLIC_URL,
    SPOKEN,
    TOKEN,
    post,
    post_all,
    recording,
    recording_url,
    status,
    transcription,
    voicemail,
)
from tests.support.worker import run_worker, worker_ctx
from workers import voice as voice_jobs


def voice_settings(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={"twilio_auth_token": TOKEN, "twilio_number": OUR_NUMBER, **update})


@pytest.fixture
async def voice(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(voice_settings(settings)))) as c:
        yield c


async def meldingen_of(store: Store, call_sid: str) -> list[Melding]:
    return [m for m in await store.read(meldingen.list_meldingen, limit=1000) if m.external_id == call_sid]


async def audit_rows(store: Store, call_sid: str) -> int:
    query = select(func.count()).where(
        inbound_messages.c.channel == "phone", inbound_messages.c.dedupe_key.like(f"{call_sid}:%")
    )
    return await store.read(lambda conn: conn.execute(query).scalar_one())


# -- signature and routing --------------------------------------------------------------------------


async def test_a_signed_callback_is_stored_and_answered_204(voice: TestClient[Any, Any]) -> None:
    resp = await post(voice, *status("CA001", "ringing", 0))
    assert resp.status == 204 and await resp.read() == b""
    call = await store_of(voice).read(voice_calls.get, "CA001")
    assert call is not None
    assert call.from_number == CALLER and call.to_number == OUR_NUMBER and call.call_status == "ringing"
    assert call.melding_id is None  # the call goes on: no melding yet
    assert await audit_rows(store_of(voice), "CA001") == 1


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
async def test_missing_or_forged_signature_is_refused_and_nothing_stored(
    voice: TestClient[Any, Any], signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    resp = await post(voice, *status("CA002", "no-answer", 1), signature=signature)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    assert any("voice callback refused" in r.getMessage() for r in caplog.records)
    store = store_of(voice)
    assert await store.read(voice_calls.get, "CA002") is None
    assert await store.read(meldingen.list_meldingen) == [] and await audit_rows(store, "CA002") == 0
    metrics = await (await voice.get("/metrics")).text()
    assert 'gateway_intake_rejected_total{channel="phone",code="invalid_signature"} 1.0' in metrics


async def test_a_signature_over_other_parameters_is_refused(voice: TestClient[Any, Any]) -> None:
    event, params = transcription("CA003")
    path = f"/channels/twilio/voice/{event}"
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, params)
    resp = await post(voice, event, {**params, "TranscriptionText": "iets anders"}, signature=signature)
    assert resp.status == 403
    # signed for another event's URL: refused as well
    resp = await post(voice, "status", params, signature=signature)
    assert resp.status == 403
    assert await store_of(voice).read(voice_calls.get, "CA003") is None


async def test_without_an_auth_token_the_channel_is_closed(client: TestClient[Any, Any]) -> None:
    resp = await post(client, *status("CA004", "no-answer", 1))
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "voice_not_configured"
    assert await store_of(client).read(voice_calls.get, "CA004") is None


async def test_an_unknown_event_is_a_404_naming_the_accepted_ones(voice: TestClient[Any, Any]) -> None:
    resp = await post(voice, "hangup", status("CA005", "completed", 2)[1])
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert error["code"] == "unknown_event"
    assert all(name in error["message"] for name in ("status", "recording", "transcription"))
    assert await store_of(voice).read(voice_calls.get, "CA005") is None


async def test_a_callback_without_call_sid_is_refused(voice: TestClient[Any, Any]) -> None:
    params = status("CA006", "ringing", 0)[1]
    del params["CallSid"]
    resp = await post(voice, "status", params)
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "CallSid"


# -- assembling a call ------------------------------------------------------------------------------


def test_every_arrival_order_folds_to_the_same_call() -> None:
    """All 720 orders of a voicemail's callbacks: the same state, complete exactly when the last of
    the hang-up and the transcription arrived."""
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    callbacks = [Callback(event, params, start) for event, params in voicemail("CA100")]
    finals = set()
    for order in itertools.permutations(callbacks):
        call = VoiceCall("CA100", first_event_at=start, last_event_at=start)
        for n, cb in enumerate(order):
            call = apply(call, replace(cb, received_at=start + timedelta(seconds=n)))
            seen = {(c.event, c.status) for c in order[: n + 1]}
            expected = {("status", "completed"), ("transcription", "completed")} <= seen
            assert complete(call, transcribe=True) == expected
        finals.add(
            (
                call.from_number,
                call.call_status,
                call.duration,
                call.recording_url,
                call.recording_status,
                call.transcription_text,
                len(call.callbacks),
            )
        )
    assert finals == {(CALLER, "completed", 42, recording_url("CA100"), "completed", SPOKEN, 6)}


@pytest.mark.parametrize("seed", range(6))
async def test_the_callbacks_of_a_call_in_any_order_make_one_melding(
    voice: TestClient[Any, Any], seed: int
) -> None:
    store = store_of(voice)
    sid = f"CA2{seed:02d}"
    callbacks = voicemail(sid)
    random.Random(seed).shuffle(callbacks)
    await post_all(voice, callbacks)
    [melding] = await meldingen_of(store, sid)
    assert melding.channel == Channel.PHONE and melding.reporter.phone == CALLER
    assert melding.text.startswith(SPOKEN)
    assert recording_url(sid) in melding.text  # the desk can listen to what the caller said
    call = await store.read(voice_calls.get, sid)
    assert call is not None and call.melding_id == melding.id and call.assembled_by == "callbacks"
    assert call.recording_url == recording_url(sid) and call.duration == 42
    assert len(call.callbacks) == len(callbacks)
    # every callback is in the audit trail, the one that completed the call linked to the melding
    assert await audit_rows(store, sid) == len(callbacks)


async def test_the_melding_is_classified_by_the_worker(
    voice: TestClient[Any, Any], settings: Settings
) -> None:
    await post_all(voice, voicemail("CA300"))
    await run_worker(voice_settings(settings))
    [melding] = await meldingen_of(store_of(voice), "CA300")
    assert melding.stage != Stage.RECEIVED  # processed: routed, or waiting in triage for the desk


async def test_a_retried_callback_changes_nothing(voice: TestClient[Any, Any]) -> None:
    store = store_of(voice)
    callbacks = voicemail("CA301")
    await post_all(voice, callbacks[:2])
    before = await store.read(voice_calls.get, "CA301")
    await post_all(voice, callbacks[1:2])  # Twilio got no answer in time and posts it again
    assert await store.read(voice_calls.get, "CA301") == before
    await post_all(voice, callbacks[2:])
    [melding] = await meldingen_of(store, "CA301")
    after = await store.read(voice_calls.get, "CA301")
    await post_all(voice, callbacks)  # every one of them again, after the melding
    assert await store.read(voice_calls.get, "CA301") == after
    assert await meldingen_of(store, "CA301") == [melding]
    again = await store.read(meldingen.get, melding.id)
    assert again is not None and again.followups == []
    assert await audit_rows(store, "CA301") == len(callbacks)


async def test_a_missed_call_is_a_melding_for_the_desk(voice: TestClient[Any, Any]) -> None:
    store = store_of(voice)
    await post_all(voice, [status("CA302", "ringing", 0), status("CA302", "no-answer", 1)])
    [melding] = await meldingen_of(store, "CA302")
    assert "Gemiste oproep (no-answer)" in melding.text and CALLER in melding.text
    assert melding.reporter.phone == CALLER


async def test_without_transcriptions_a_recording_completes_the_call(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(voice_settings(settings, voice_transcribe=False)))) as c:
        await post_all(c, [status("CA303", "completed", 2, CallDuration="30"), recording("CA303")])
        [melding] = await meldingen_of(store_of(c), "CA303")
        assert "zonder transcriptie" in melding.text and recording_url("CA303") in melding.text


async def test_concurrent_identical_first_callbacks_make_one_melding(voice: TestClient[Any, Any]) -> None:
    store = store_of(voice)
    answers = await asyncio.gather(*(post(voice, *status("CA304", "busy", 0)) for _ in range(5)))
    assert [a.status for a in answers] == [204] * 5
    assert len(await meldingen_of(store, "CA304")) == 1
    assert await audit_rows(store, "CA304") == 1


async def test_the_two_completing_callbacks_at_once_make_one_melding(voice: TestClient[Any, Any]) -> None:
    store = store_of(voice)
    for n in range(4):
        sid = f"CA31{n}"
        callbacks = voicemail(sid)
        await post_all(voice, callbacks[:4])
        # the hang-up and the transcription, each completing the call, at the same instant
        answers = await asyncio.gather(*(post(voice, e, p) for e, p in callbacks[4:]))
        assert [a.status for a in answers] == [204, 204]
        [melding] = await meldingen_of(store, sid)
        assert melding.text.startswith(SPOKEN)


# -- calls that go quiet ----------------------------------------------------------------------------


async def test_a_call_without_hang_up_becomes_a_melding_after_the_settle_time(settings: Settings) -> None:
    quick = voice_settings(settings, voice_settle_seconds=0.3)
    async with TestClient(TestServer(create_app(quick))) as c:
        store = store_of(c)
        await post_all(
            c, [status("CA400", "ringing", 0), status("CA400", "in-progress", 1), recording("CA400")]
        )
        assert await meldingen_of(store, "CA400") == []
        await run_worker(quick)  # the settle job waits for 0.3 s of silence, then makes the melding
        [melding] = await meldingen_of(store, "CA400")
        assert "zonder transcriptie" in melding.text and recording_url("CA400") in melding.text
        assert melding.reporter.phone == CALLER and melding.stage != Stage.RECEIVED  # processed too
        call = await store.read(voice_calls.get, "CA400")
        assert call is not None and call.assembled_by == "settle" and call.melding_id == melding.id

        # the transcription comes after all: a follow-up on the melding, not a second melding
        await post_all(c, [transcription("CA400")])
        await post_all(c, [transcription("CA400")])  # and its retry
        [after] = await meldingen_of(store, "CA400")
        assert [(f.channel, f.text, f.sender) for f in after.followups] == [(Channel.PHONE, SPOKEN, CALLER)]
        # a late hang-up only completes the record of the call
        await post_all(c, [status("CA400", "completed", 2, CallDuration="61")])
        call = await store.read(voice_calls.get, "CA400")
        assert call is not None and call.call_status == "completed" and call.duration == 61
        assert call.transcription_text == SPOKEN
        assert len(await meldingen_of(store, "CA400")) == 1


async def test_callbacks_that_keep_coming_postpone_the_settle_job(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    quick = voice_settings(settings, voice_settle_seconds=0.5)
    async with TestClient(TestServer(create_app(quick))) as c:
        store = store_of(c)
        await post_all(c, [status("CA401", "ringing", 0)])
        worker = asyncio.create_task(run_worker(quick))
        for event, params in voicemail("CA401")[1:4]:
            clock.shift(0.2)  # each within the settle time of the one before, however slow the machine
            await post_all(c, [(event, params)])
            assert await meldingen_of(store, "CA401") == []
        clock.shift(0.6)  # then quiet for longer than the settle time,
        # and time runs again: a retry the worker computed before that shift must come due too
        clock.move_to(datetime.now(UTC), tick=True)
        await worker
        [melding] = await meldingen_of(store, "CA401")
        call = await store.read(voice_calls.get, "CA401")
        assert call is not None and call.assembled_by == "settle"
        assert melding.received_at == call.first_event_at


async def test_the_sweep_settles_a_call_whose_job_was_lost(
    settings: Settings, redis_client: aioredis.Redis, clock: time_machine.Traveller
) -> None:
    quick = voice_settings(settings, voice_settle_seconds=0.2)
    async with TestClient(TestServer(create_app(quick))) as c:
        store = store_of(c)
        await post_all(c, [status("CA402", "ringing", 0), status("CA402", "in-progress", 1)])
        await redis_client.flushdb()  # Redis restarted empty: the settle job is gone
        clock.shift(0.3)  # quiet for longer than the settle time
        await run_worker(quick)
        assert await meldingen_of(store, "CA402") == []
        async with worker_ctx(quick) as ctx:
            assert await voice_jobs.sweep_calls(ctx) == 1
        await run_worker(quick)
        [melding] = await meldingen_of(store, "CA402")
        assert "zonder opname" in melding.text and "laatste status: in-progress" in melding.text
        async with worker_ctx(quick) as ctx:
            assert await voice_jobs.sweep_calls(ctx) == 0
