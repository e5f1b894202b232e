"""MMS media: recorded by the webhook, fetched by a real worker from a local stand-in for Twilio's
API (tests/support/twilio.py), stored as attachments and delivered with the melding."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.attachments import AttachmentStore
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import media as media_store
from gateway.store import meldingen
from tests.support.api import api_get, store_of
from tests.support.http import Receiver
from tests.support.sms import REFERENCE, message
from tests.support.sms import post as post_sms
from tests.support.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, jpeg, pdf, png, twilio_settings
from tests.support.worker import run_worker, sweep
from workers.media import basic_authorization

NUMBER = "+32470333444"


@pytest.fixture
def mms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return twilio_settings(settings, twilio)


@pytest.fixture
async def app(mms_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(mms_settings))) as c:
        yield c


def mms(sid: str, body: str, media: list[tuple[str, str]], sender: str = NUMBER) -> dict[str, str]:
    """An inbound MMS as Twilio posts it: NumMedia, MediaUrlN, MediaContentTypeN."""
    extra = {"NumMedia": str(len(media))}
    for n, (url, content_type) in enumerate(media):
        extra[f"MediaUrl{n}"] = url
        extra[f"MediaContentType{n}"] = content_type
    return message(sid, body, sender, **extra)


async def send(app: TestClient[Any, Any], params: dict[str, str]) -> str:
    resp = await post_sms(app, params)
    assert resp.status == 200
    return REFERENCE.search(await resp.text()).group(0)  # type: ignore[union-attr]


async def test_every_media_of_an_mms_is_stored_and_delivered_with_the_melding(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    files = [(jpeg(), "image/jpeg"), (png(), "image/png"), (pdf(), "application/pdf")]
    sids = [twilio.add_media(data, kind) for data, kind in files]
    urls = [(twilio.media_url("MM200", sid), kind) for sid, (_, kind) in zip(sids, files, strict=True)]
    reference = await send(app, mms("MM200", "Sluikstort aan de glasbol, zie foto's", urls))
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None and melding.attachments == []  # the answer did not wait for downloads
    assert [m.state for m in await store_of(app).read(media_store.media_of, melding.id)] == ["pending"] * 3

    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    got = [(a.content_type, a.sha256, a.size) for a in melding.attachments]
    assert got == [(kind, hashlib.sha256(data).hexdigest(), len(data)) for data, kind in files]
    root = AttachmentStore(mms_settings.attachments_dir)
    for attachment, (data, _) in zip(melding.attachments, files, strict=True):
        assert root.path_for(attachment.sha256).read_bytes() == data
    assert [m.state for m in await store_of(app).read(media_store.media_of, melding.id)] == ["stored"] * 3
    # credentials went to the API only, never to the CDN it redirected to
    expected = basic_authorization(ACCOUNT_SID, AUTH_TOKEN)
    assert [r["headers"].get("Authorization") for r in twilio.media_requests] == [expected] * 3
    assert len(twilio.cdn_requests) == 3
    assert all("Authorization" not in headers for headers in twilio.cdn_requests)
    # the case system got the photos with the melding
    [created] = receiver.created
    assert [a["sha256"] for a in created["body"]["melding"]["attachments"]] == [s for _, s, _ in got]


async def test_a_followup_mms_attaches_to_the_existing_melding(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    reference = await send(app, mms("MM210", "Er ligt een sluikstort naast de glasbak", []))
    await run_worker(mms_settings)
    assert len(receiver.created) == 1  # delivered: a follow-up goes to the case system as melding.followup
    photo = jpeg((10, 10, 200))
    sid = twilio.add_media(photo, "image/jpeg", redirect=False)
    resp = await post_sms(
        app, mms("MM211", "Hier is een foto", [(twilio.media_url("MM211", sid), "image/jpeg")])
    )
    assert "toegevoegd aan melding " + reference in await resp.text()
    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    assert [f.text for f in melding.followups] == ["Hier is een foto"]
    assert [a.sha256 for a in melding.attachments] == [hashlib.sha256(photo).hexdigest()]
    assert len(await store_of(app).read(media_store.media_of, melding.id, "stored")) == 1
    # the follow-up reached the case system once its photo was stored
    [followup] = [r for r in receiver.received if r["body"]["event"] == "melding.followup"]
    assert [a["sha256"] for a in followup["body"]["melding"]["attachments"]] == [
        hashlib.sha256(photo).hexdigest()
    ]


async def test_oversize_refused_and_foreign_media_fail_and_the_melding_still_goes(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    good = jpeg()
    big = jpeg(size=(8, 6)) + b"\x00" * (mms_settings.max_attachment_bytes + 1)
    media = [
        (twilio.media_url("MM220", twilio.add_media(good, "image/jpeg")), "image/jpeg"),
        (twilio.media_url("MM220", twilio.add_media(big, "image/jpeg")), "image/jpeg"),
        (twilio.media_url("MM220", twilio.add_media(b"GIF89a-ish video", "video/mp4")), "video/mp4"),
        ("https://evil.example/2010-04-01/Accounts/AC1/Messages/MM220/Media/ME1", "image/jpeg"),
        (twilio.media_url("MM220", "ME" + "0" * 32), "image/png"),  # gone: 404
    ]
    reference = await send(app, mms("MM220", "Graffiti op de brug", media))
    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    assert [a.sha256 for a in melding.attachments] == [hashlib.sha256(good).hexdigest()]
    records = await store_of(app).read(media_store.media_of, melding.id)
    assert [r.state for r in records] == ["stored", "failed", "failed", "failed", "failed"]
    errors = [r.error or "" for r in records[1:]]
    assert "too large" in errors[0]
    assert "video/mp4 is not accepted" in errors[1]
    assert errors[2].startswith("refused: https://evil.example")
    assert "HTTP 404" in errors[3]
    assert all(r.attempts == 1 for r in records)  # permanent: tried once
    assert not any("evil" in str(r) for r in twilio.media_requests)
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [reference]
    shown = (await (await api_get(app, f"/api/v1/meldingen/{melding.id}")).json())["mms_media"]
    assert [(m["position"], m["state"]) for m in shown] == [(n, r.state) for n, r in enumerate(records)]
    assert shown[1]["error"] == records[1].error and shown[0]["sha256"] == hashlib.sha256(good).hexdigest()


async def test_a_transient_failure_is_retried_before_the_melding_is_delivered(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    photo = png((1, 2, 3))
    sid = twilio.add_media(photo, "image/png")
    twilio.media_failures[sid] = [500, 429]
    reference = await send(
        app, mms("MM230", "Put in het fietspad", [(twilio.media_url("MM230", sid), "image/png")])
    )
    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    [record] = await store_of(app).read(media_store.media_of, melding.id)
    assert (record.state, record.attempts) == ("stored", 3)
    [created] = receiver.created
    assert [a["sha256"] for a in created["body"]["melding"]["attachments"]] == [
        hashlib.sha256(photo).hexdigest()
    ]


async def test_a_media_that_keeps_failing_is_given_up_and_the_melding_delivered(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, receiver: Receiver
) -> None:
    settings = mms_settings.model_copy(update={"sms_media_max_attempts": 2})
    sid = twilio.add_media(jpeg(), "image/jpeg")
    twilio.media_failures[sid] = [503] * 5
    reference = await send(
        app, mms("MM240", "Boom omgevallen", [(twilio.media_url("MM240", sid), "image/jpeg")])
    )
    await run_worker(settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None and melding.attachments == []
    [record] = await store_of(app).read(media_store.media_of, melding.id)
    assert (record.state, record.attempts) == ("failed", 2) and "HTTP 503" in (record.error or "")
    assert [r["body"]["melding"]["reference"] for r in receiver.created] == [reference]


async def test_a_retried_webhook_records_its_media_once(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio
) -> None:
    sid = twilio.add_media(jpeg(), "image/jpeg")
    params = mms("MM250", "Sluikstort", [(twilio.media_url("MM250", sid), "image/jpeg")])
    reference = await send(app, params)
    assert await send(app, params) == reference
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    assert len(await store_of(app).read(media_store.media_of, melding.id)) == 1


async def test_the_sweep_refetches_a_followups_media_whose_job_was_lost(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio, redis_client: Any
) -> None:
    reference = await send(app, mms("MM260", "Er ligt een sluikstort naast de glasbak", []))
    await run_worker(mms_settings)
    photo = jpeg((90, 90, 90))
    sid = twilio.add_media(photo, "image/jpeg")
    await post_sms(app, mms("MM261", "Nog een foto", [(twilio.media_url("MM261", sid), "image/jpeg")]))
    await redis_client.flushdb()  # Redis restarted empty: the fetch job is gone
    found = await sweep(mms_settings)
    assert found["process"] == 1
    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None
    assert [a.sha256 for a in melding.attachments] == [hashlib.sha256(photo).hexdigest()]
    assert (await sweep(mms_settings))["process"] == 0
