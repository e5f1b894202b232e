"""POST /channels/phone/calls: signed call records, their schema, idempotency, answered calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.channels.phone import calls as phone
from gateway.config import ConfigError, Settings
from gateway.http.app import create_app
from gateway.signing import sign
from tests.support.api import api_get
from tests.support.http import Receiver
from tests.support.phone import CALL, PHONE_SECRET, call, post
from tests.support.worker import run_worker


@pytest.fixture
def phone_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"phone_secret": PHONE_SECRET})


@pytest.fixture
async def phone_client(phone_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(phone_settings))) as c:
        yield c


async def test_signed_call_record_becomes_a_phone_melding(phone_client: TestClient[Any, Any]) -> None:
    resp = await post(phone_client, CALL)
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert set(body) == {"id", "reference", "tracking_url"}
    assert body["tracking_url"].startswith("https://meldpunt.example/t/")
    got = await (await api_get(phone_client, f"/api/v1/meldingen/{body['id']}")).json()
    assert got["channel"] == "phone"
    assert got["external_id"] == "call-0001"
    assert got["reporter"] == {
        "name": "An Peeters",
        "email": "an@example.be",
        "phone": "+32470123456",
        "feedback": None,
    }
    assert got["dienst"] == "wegen"  # IVR digit 4 in config/ivr.toml
    assert got["text"] == CALL["agent_notes"] + "\n\n" + CALL["transcription"]
    assert got["location"]["street"] == "Budastraat"
    assert got["status"] == "ontvangen"
    assert got["stage"] == "received"


async def test_unmapped_ivr_is_classified_and_odd_number_kept(
    phone_client: TestClient[Any, Any], phone_settings: Settings, receiver: Receiver
) -> None:
    record = call(
        call_id="call-0002",
        ivr_choice="9",
        caller_number="anonymous",
        agent_notes="Sluikstort van vuilniszakken naast de glasbol.",
        transcription=...,
    )
    resp = await post(phone_client, record)
    assert resp.status == 202
    mid = (await resp.json())["id"]
    got = await (await api_get(phone_client, f"/api/v1/meldingen/{mid}")).json()
    assert got["dienst"] is None  # no hint: the worker classifies
    assert got["reporter"]["phone"] == "anonymous"  # not parseable: kept as given
    assert got["text"] == "Sluikstort van vuilniszakken naast de glasbol."
    await run_worker(phone_settings)
    got = await (await api_get(phone_client, f"/api/v1/meldingen/{mid}")).json()
    assert got["routed_by"] != "channel:phone"


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"X-Gateway-Timestamp": "now", "X-Gateway-Signature": "sha256=" + "0" * 64}, "match"),
        ({}, "missing"),
        ({"X-Gateway-Timestamp": "now"}, "missing"),
    ],
)
async def test_bad_or_missing_signature_is_401(
    phone_client: TestClient[Any, Any], headers: dict[str, str], reason: str
) -> None:
    # "now" when the test runs, not when it was collected: a long suite would make it stale.
    now = {k: str(int(time.time())) if v == "now" else v for k, v in headers.items()}
    resp = await phone_client.post(
        "/channels/phone/calls",
        data=json.dumps(CALL),
        headers={"Content-Type": "application/json", **now},
    )
    assert resp.status == 401
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_signature"
    assert reason in error["message"]


async def test_wrong_secret_and_stale_timestamp_are_401(phone_client: TestClient[Any, Any]) -> None:
    assert (await post(phone_client, CALL, secret="other")).status == 401
    stale = await post(phone_client, CALL, ts=int(time.time()) - 600)
    assert stale.status == 401
    assert "replay" in (await stale.json())["error"]["message"]


async def test_no_phone_secret_refuses_every_call(client: TestClient[Any, Any]) -> None:
    resp = await post(client, CALL, secret="")
    assert resp.status == 401
    error = (await resp.json())["error"]
    assert error["code"] == "phone_secret_not_configured"
    assert "GATEWAY_PHONE_SECRET" in error["message"]


@pytest.mark.parametrize(
    "record, field, reason",
    [
        (call(call_id=...), "call_id", "Field required"),
        (call(call_id=1234), "call_id", "Input should be a valid string"),
        (call(outcome="hung_up"), "outcome", "Input should be 'answered', 'register' or 'forward'"),
        (call(agent_mood="good"), "agent_mood", "Extra inputs are not permitted"),
        (call(started_at="yesterday"), "started_at", "Input should be a valid datetime"),
        (call(ended_at="2026-03-02T09:17:30"), "ended_at", "Input should have timezone info"),
        (call(ended_at="2026-03-02T08:00:00+01:00"), "ended_at", "must not be before started_at"),
        (call(ivr_choice="2a"), "ivr_choice", "String should match pattern"),
        (call(reporter={"email": "geen-adres"}), "reporter.email", "not an e-mail address"),
        (call(recording_url="ftp://x"), "recording_url", "URL scheme should be 'http' or 'https'"),
    ],
)
async def test_schema_errors_name_field_and_reason(
    phone_client: TestClient[Any, Any], record: dict[str, Any], field: str, reason: str
) -> None:
    resp = await post(phone_client, record)
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_call_record"
    assert [f["field"] for f in error["fields"]] == [field]
    assert reason in error["fields"][0]["reason"]


async def test_registered_call_needs_some_text(phone_client: TestClient[Any, Any]) -> None:
    resp = await post(phone_client, call(agent_notes="", transcription=None))
    assert resp.status == 422
    assert (await resp.json())["error"]["field"] == "agent_notes"


async def test_not_json_is_400(phone_client: TestClient[Any, Any]) -> None:
    body = b"{not json"
    resp = await phone_client.post("/channels/phone/calls", data=body, headers=sign(PHONE_SECRET, body))
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "malformed_json"


async def test_same_call_id_twice_is_one_melding(phone_client: TestClient[Any, Any]) -> None:
    first = await post(phone_client, CALL)
    again = await post(phone_client, call(agent_notes="re-sent with an edit"))
    assert first.status == again.status == 202
    assert (await first.json()) == (await again.json())
    assert again.headers.get("Idempotent-Replayed") == "true"
    listed = await (await api_get(phone_client, "/api/v1/meldingen")).json()
    assert [m["external_id"] for m in listed["meldingen"]] == ["call-0001"]


async def test_answered_call_is_beantwoord_and_never_delivered(
    phone_client: TestClient[Any, Any], phone_settings: Settings, receiver: Receiver
) -> None:
    answered = call(
        call_id="call-info",
        outcome="answered",
        ivr_choice="4",  # whatever the menu said: answered at once is info
        agent_notes="Vraag naar openingsuren van het containerpark; beantwoord.",
        transcription=None,
    )
    resp = await post(phone_client, answered)
    assert resp.status == 202
    info = await resp.json()
    replay = await post(phone_client, answered)
    assert (await replay.json()) == info
    registered = await post(phone_client, CALL)
    assert registered.status == 202
    reg = await registered.json()

    await run_worker(phone_settings)

    got = await (await api_get(phone_client, f"/api/v1/meldingen/{info['id']}")).json()
    assert got["status"] == "beantwoord"
    assert got["dienst"] == "info"
    assert got["stage"] == "answered"
    assert [h["status"] for h in got["status_history"]] == ["ontvangen", "beantwoord"]
    assert got["deliveries"] == []
    sent = [r["body"]["melding"]["reference"] for r in receiver.created]
    assert sent == [reg["reference"]]  # the registered call reached the case system, the info one not
    assert all(r["body"]["melding"]["reference"] != info["reference"] for r in receiver.received)
    got_reg = await (await api_get(phone_client, f"/api/v1/meldingen/{reg['id']}")).json()
    assert got_reg["dienst"] == "wegen"
    assert got_reg["routed_by"] == "channel:phone"


async def test_simultaneous_copies_of_a_call_make_one_melding(phone_client: TestClient[Any, Any]) -> None:
    """The platform may send a record twice at once (a retry racing a slow answer): every copy
    is answered 202 with the same reference, on either store, and one melding exists."""
    for outcome in ("answered", "register"):
        record = call(call_id=f"call-race-{outcome}", outcome=outcome)
        answers = await asyncio.gather(*[post(phone_client, record) for _ in range(8)])
        assert [a.status for a in answers] == [202] * 8
        bodies = [await a.json() for a in answers]
        assert len({b["reference"] for b in bodies}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
    listed = await (await api_get(phone_client, "/api/v1/meldingen")).json()
    assert sorted(m["external_id"] for m in listed["meldingen"]) == [
        "call-race-answered",
        "call-race-register",
    ]


def test_published_files_match_the_model() -> None:
    assert json.loads(phone.SCHEMA_FILE.read_text()) == phone.CallRecord.model_json_schema()
    assert json.loads(phone.OPENAPI_FILE.read_text()) == phone.published_openapi()


def test_e164() -> None:
    assert phone.e164("056 27 77 77") == "+3256277777"
    assert phone.e164("+32 (0)470 12.34.56") == "+32470123456"
    assert phone.e164("0033 1 42 68 53 00") == "+33142685300"
    assert phone.e164("1777") == "1777"  # a short number is no E.164 number: kept
    assert phone.e164("???") == "???"
    assert phone.e164(None) is None


def test_ivr_table(tmp_path: Path) -> None:
    table = phone.ivr_table(Path("config/ivr.toml"))
    assert phone.ivr_dienst("4", table) == "wegen"
    assert phone.ivr_dienst("21", table) == "afvalophaling"  # longest prefix
    assert phone.ivr_dienst("9", table) is None
    assert phone.ivr_dienst(None, table) is None
    assert phone.ivr_table(tmp_path / "missing.toml") == {}
    bad = tmp_path / "ivr.toml"
    bad.write_text('[digits]\n"1" = "parking"\n')
    with pytest.raises(ConfigError, match="parking"):
        phone.ivr_table(bad)
