"""Bad input from strangers never gives a 5xx, never stores half a melding, never leaves a file behind.

Texts are cleaned, not refused (gateway.cleantext): NUL and the other C0 controls except tab,
newline and carriage return are dropped, lone surrogates become U+FFFD, on every channel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support import phone, sms
from tests.support.api import api_get, delivered, melding, signed, store_of
from tests.support.data import TILE
from tests.support.http import SECRET
from tests.support.twilio import jpeg

NUL = "\x00"


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body["error"]) >= {"code", "message"}
    return body["error"]


def _files(settings: Settings) -> list[Path]:
    return [p for p in settings.attachments_dir.rglob("*") if p.is_file()]


# -- item 2: NUL and other unstorable characters ------------------------------------------------------


async def test_nul_in_melding_text_and_reporter_is_dropped(every_channel: TestClient[Any, Any]) -> None:
    body = {
        **TILE,
        "text": f"Losse{NUL} tegel\x07 voor nummer 12\tnaast\r\nde bakker",
        "subject": f"tegel{NUL}",
        "reporter": {"name": f"An{NUL} Peeters", "email": "an@example.be", "phone": f"0470{NUL}"},
        "location": {"street": f"Budastraat{NUL}", "house_number": "12"},
    }
    resp = await every_channel.post("/api/v1/meldingen", json=body)
    assert resp.status == 202, await resp.text()
    got = await melding(every_channel, (await resp.json())["id"])
    assert got["text"] == "Losse tegel voor nummer 12\tnaast\r\nde bakker"
    assert got["subject"] == "tegel"
    assert got["reporter"]["name"] == "An Peeters"
    assert got["location"]["street"] == "Budastraat"


async def test_lone_surrogate_becomes_replacement_character(every_channel: TestClient[Any, Any]) -> None:
    raw = json.dumps({**TILE, "text": "tegel \ud800 los"}).encode()
    resp = await every_channel.post(
        "/api/v1/meldingen", data=raw, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 202, await resp.text()
    got = await melding(every_channel, (await resp.json())["id"])
    assert got["text"] == "tegel \ufffd los"


async def test_text_of_only_controls_is_refused_as_empty(every_channel: TestClient[Any, Any]) -> None:
    resp = await every_channel.post("/api/v1/meldingen", json={**TILE, "text": NUL * 3})
    error = await _error(resp, 422)
    assert error["fields"][0]["field"] == "text"


async def test_nul_in_multipart_text_with_photo(
    every_channel: TestClient[Any, Any], settings: Settings
) -> None:
    form = FormData(default_to_multipart=True)
    form.add_field("melding", json.dumps({"text": f"tegel{NUL} los", "reporter": {"name": f"An{NUL}"}}))
    form.add_field("street", f"Budastraat{NUL}")
    form.add_field("photo", jpeg(), filename="../../foto.jpg", content_type="image/jpeg")
    resp = await every_channel.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    got = await melding(every_channel, (await resp.json())["id"])
    assert got["text"] == "tegel los" and got["reporter"]["name"] == "An"
    assert got["location"]["street"] == "Budastraat"
    assert len(got["attachments"]) == 1 and got["attachments"][0]["filename"] == "foto.jpg"
    assert len(_files(settings)) == 1


async def test_nul_in_status_note(every_channel: TestClient[Any, Any]) -> None:
    created = await (await every_channel.post("/api/v1/meldingen", json=TILE)).json()
    await delivered(every_channel, created["id"])  # a callback needs a case
    raw, headers = signed({"status": "in_behandeling", "note": f"ploeg{NUL} onderweg"})
    resp = await every_channel.post(
        f"/api/v1/meldingen/{created['reference']}/status", data=raw, headers=headers
    )
    assert resp.status == 200, await resp.text()
    got = await melding(every_channel, created["id"])
    assert got["status_history"][-1]["note"] == "ploeg onderweg"


async def test_nul_in_call_record(every_channel: TestClient[Any, Any]) -> None:
    record = phone.call(
        call_id=f"call-{NUL}1",
        agent_notes=f"tegels{NUL} los",
        reporter={"name": f"An{NUL}"},
        location={"street": f"Budastraat{NUL}"},
    )
    resp = await phone.post(every_channel, record)
    assert resp.status == 202, await resp.text()
    got = await melding(every_channel, (await resp.json())["id"])
    assert got["text"].startswith("tegels los") and got["reporter"]["name"] == "An"
    assert got["external_id"] == "call-1"


async def test_nul_in_sms_body_is_stored_and_answered(every_channel: TestClient[Any, Any]) -> None:
    resp = await sms.post(every_channel, sms.message("SMnul1", f"sluikstort{NUL} aan de glasbak"))
    assert resp.status == 200, await resp.text()
    assert sms.REFERENCE.search(await resp.text())
    again = await sms.post(every_channel, sms.message("SMnul1", f"sluikstort{NUL} aan de glasbak"))
    assert again.status == 200 and sms.REFERENCE.search(await again.text())  # a retry: same answer


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/meldingen/%00",
        "/api/v1/meldingen/abc%00def",
        "/t/%00",
        "/t/x%01y",
    ],
)
async def test_control_characters_in_path_are_not_found(
    every_channel: TestClient[Any, Any], path: str
) -> None:
    resp = await api_get(every_channel, path)  # with the read token: the lookup itself must say 404
    assert resp.status == 404, await resp.text()


async def test_signed_calls_with_nul_in_path_are_not_found(every_channel: TestClient[Any, Any]) -> None:
    raw, headers = signed({"status": "in_behandeling"})
    resp = await every_channel.post("/api/v1/meldingen/1777%00/status", data=raw, headers=headers)
    await _error(resp, 404)
    raw, headers = signed({"dienst": "wegen"})
    resp = await every_channel.post("/api/v1/meldingen/%00/dienst", data=raw, headers=headers)
    await _error(resp, 404)


# -- item 4: other unhandled errors --------------------------------------------------------------------


@pytest.mark.parametrize("part", ["5", "[1, 2]", '"tekst"', "null"])
async def test_multipart_melding_part_must_be_an_object(
    every_channel: TestClient[Any, Any], part: str
) -> None:
    form = FormData(default_to_multipart=True)
    form.add_field("melding", part)
    error = await _error(await every_channel.post("/api/v1/meldingen", data=form), 422)
    assert error["code"] == "invalid_melding"


async def _signed_raw(client: TestClient[Any, Any], path: str, raw: bytes, secret: str) -> Any:
    headers = {"Content-Type": "application/json", **sign(secret, raw)}
    return await client.post(path, data=raw, headers=headers)


DEEP = b"[" * 20_000 + b"]" * 20_000  # far beyond the recursion limit, within the body limit


async def test_deeply_nested_json_is_refused(every_channel: TestClient[Any, Any]) -> None:
    body = b'{"text": ' + DEEP + b"}"
    resp = await every_channel.post(
        "/api/v1/meldingen", data=body, headers={"Content-Type": "application/json"}
    )
    assert (await _error(resp, 400))["code"] == "malformed_json"
    created = await (await every_channel.post("/api/v1/meldingen", json=TILE)).json()
    for path, secret in [
        (f"/api/v1/meldingen/{created['reference']}/status", SECRET),
        (f"/api/v1/meldingen/{created['id']}/dienst", SECRET),
        ("/channels/phone/calls", phone.PHONE_SECRET),
    ]:
        resp = await _signed_raw(every_channel, path, b'{"note": ' + DEEP + b"}", secret)
        assert (await _error(resp, 400))["code"] == "malformed_json", path
    form = FormData(default_to_multipart=True)
    form.add_field("melding", DEEP.decode())
    resp = await every_channel.post("/api/v1/meldingen", data=form)
    assert (await _error(resp, 400))["code"] == "malformed_json"


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=text\r\n\r\nhoi\r\n--x--\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=text\r\n\r\nhal"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=text\r\n"),
        ("multipart/form-data; boundary=x", b"garbage without any boundary"),
        ("multipart/form-data; boundary=" + "b" * 100, b"--x--"),
    ],
)
async def test_broken_multipart_is_refused(
    every_channel: TestClient[Any, Any], content_type: str, body: bytes
) -> None:
    resp = await every_channel.post("/api/v1/meldingen", data=body, headers={"Content-Type": content_type})
    assert 400 <= resp.status < 500, await resp.text()
    assert (await resp.json())["error"]["code"]


@pytest.mark.parametrize("limit", ["-1", "0", "-99999999999999999999", "1" + "0" * 30])
async def test_absurd_limits_are_refused_or_capped(every_channel: TestClient[Any, Any], limit: str) -> None:
    await every_channel.post("/api/v1/meldingen", json=TILE)
    resp = await api_get(every_channel, "/api/v1/meldingen", params={"limit": limit})
    if int(limit) < 1:
        assert (await _error(resp, 400))["code"] == "invalid_query"
    else:
        assert resp.status == 200 and len((await resp.json())["meldingen"]) == 1


@pytest.mark.parametrize("timestamp", ["9" * 400, "-" + "9" * 400, "1e400", "inf", "١٢٣"])
async def test_absurd_signature_timestamp_is_refused(
    every_channel: TestClient[Any, Any], timestamp: str
) -> None:
    raw = json.dumps({"status": "in_behandeling"}).encode()
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + "0" * 64,
    }
    resp = await every_channel.post("/api/v1/meldingen/1777-2026-000001/status", data=raw, headers=headers)
    assert (await _error(resp, 401))["code"] == "invalid_signature"


@pytest.mark.parametrize(
    "started_at, ended_at",
    [
        ("0001-01-01T00:00:00+00:00", "0001-01-01T00:05:00+00:00"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:05:00+01:00"),
        ("9999-12-31T23:00:00+00:00", "9999-12-31T23:55:00+00:00"),
        ("2026-03-02T09:14:00+01:00", "9999-12-31T23:55:00-01:00"),
        ("1303-03-02T09:14:00+01:00", "1303-03-02T09:17:00+01:00"),
    ],
)
async def test_call_record_dates_must_be_plausible(
    every_channel: TestClient[Any, Any], started_at: str, ended_at: str
) -> None:
    resp = await phone.post(every_channel, phone.call(started_at=started_at, ended_at=ended_at))
    error = await _error(resp, 422)
    assert error["code"] == "invalid_call_record"
    assert {f["field"] for f in error["fields"]} & {"started_at", "ended_at"}


# -- item 5: 405 says what is allowed ------------------------------------------------------------------


async def test_method_not_allowed_names_the_allowed_methods(every_channel: TestClient[Any, Any]) -> None:
    resp = await every_channel.delete("/api/v1/meldingen")
    error = await _error(resp, 405)
    assert error["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
    assert resp.content_type == "application/json"


# -- no orphan file -----------------------------------------------------------------------------------


def _photo_form(text: str, photo: bytes) -> FormData:
    form = FormData()
    form.add_field("melding", json.dumps({"text": text}))
    form.add_field("photo", photo, filename="foto.jpg", content_type="image/jpeg")
    return form


async def test_no_orphan_file_when_the_store_fails(
    every_channel: TestClient[Any, Any], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is down")

    monkeypatch.setattr(store_of(every_channel), "intake", down)
    resp = await every_channel.post("/api/v1/meldingen", data=_photo_form("tegel los", jpeg()))
    assert resp.status >= 500
    assert _files(settings) == []


async def test_no_orphan_file_when_the_idempotency_key_is_reused(
    every_channel: TestClient[Any, Any], settings: Settings
) -> None:
    key = {"Idempotency-Key": "form-1"}
    first = await every_channel.post("/api/v1/meldingen", data=_photo_form("tegel los", jpeg()), headers=key)
    assert first.status == 202
    replay = await every_channel.post("/api/v1/meldingen", data=_photo_form("tegel los", jpeg()), headers=key)
    assert replay.status == 202 and replay.headers["Idempotent-Replayed"] == "true"
    other = _photo_form("iets anders", jpeg(colour=(0, 0, 250)))
    error = await _error(await every_channel.post("/api/v1/meldingen", data=other, headers=key), 422)
    assert error["code"] == "idempotency_key_reused"
    got = await melding(every_channel, (await first.json())["id"])
    (kept,) = _files(settings)  # the first photo only, which the melding refers to
    assert kept.name == got["attachments"][0]["sha256"]
