"""POST /api/v1/meldingen: persistence, idempotency, every validation error, on both stores."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from gateway.appkeys import STORE
from gateway.config import Settings
from gateway.melding import Channel, MeldingDraft
from gateway.store.schema import attachments, meldingen
from tests.support.api import api_get
from tests.support.data import PNG, TILE


async def count(client: TestClient[Any, Any], table: Any = meldingen) -> int:
    query = select(func.count()).select_from(table)
    return await client.app[STORE].read(lambda conn: conn.execute(query).scalar_one())


async def test_json_melding_is_stored_and_answered_202(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/v1/meldingen", json=TILE)
    assert resp.status == 202
    body = await resp.json()
    year = datetime.now(UTC).year
    assert re.fullmatch(rf"1777-{year}-\d{{6}}", body["reference"])
    assert body["tracking_url"].startswith("https://meldpunt.example/t/")
    got = await (await api_get(client, f"/api/v1/meldingen/{body['id']}")).json()
    assert got["reference"] == body["reference"]
    assert got["text"] == TILE["text"]
    assert got["reporter"]["email"] == "an@example.be"
    assert got["location"]["street"] == "Budastraat"
    assert got["status"] == "ontvangen"
    assert got["stage"] == "received"
    assert [h["status"] for h in got["status_history"]] == ["ontvangen"]
    assert "tracking_token" not in got


async def test_references_are_sequential(client: TestClient[Any, Any]) -> None:
    refs = []
    for n in range(3):
        resp = await client.post("/api/v1/meldingen", json={"text": f"melding {n}"})
        refs.append((await resp.json())["reference"])
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


async def test_reference_counter_restarts_each_year(client: TestClient[Any, Any]) -> None:
    store = client.app[STORE]

    def draft(year: int, n: int) -> MeldingDraft:
        return MeldingDraft(channel=Channel.WEB, received_at=datetime(year, 6, 1, tzinfo=UTC), text=f"t{n}")

    a, b, c = await asyncio.gather(
        store.intake(draft(2031, 1)), store.intake(draft(2031, 2)), store.intake(draft(2032, 3))
    )
    assert sorted([a.reference, b.reference]) == ["1777-2031-000001", "1777-2031-000002"]
    assert c.reference == "1777-2032-000001"


async def test_same_idempotency_key_never_makes_a_second_melding(client: TestClient[Any, Any]) -> None:
    headers = {"Idempotency-Key": "form-7f3a"}
    first = await client.post("/api/v1/meldingen", json=TILE, headers=headers)
    again = await client.post("/api/v1/meldingen", json=TILE, headers=headers)
    assert first.status == again.status == 202
    assert (await first.json()) == (await again.json())
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(client) == 1


async def test_concurrent_retries_with_one_key_store_one_melding(client: TestClient[Any, Any]) -> None:
    headers = {"Idempotency-Key": "burst-1"}
    resps = await asyncio.gather(
        *(client.post("/api/v1/meldingen", json=TILE, headers=headers) for _ in range(20))
    )
    refs = {(await r.json())["reference"] for r in resps}
    assert {r.status for r in resps} == {202}
    assert len(refs) == 1
    assert await count(client) == 1


async def test_idempotency_key_reused_for_another_melding_is_refused(client: TestClient[Any, Any]) -> None:
    headers = {"Idempotency-Key": "reused"}
    first = await client.post("/api/v1/meldingen", json=TILE, headers=headers)
    other = await client.post("/api/v1/meldingen", json={"text": "iets anders"}, headers=headers)
    assert other.status == 422
    error = (await other.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    assert (await first.json())["reference"] in error["message"]
    assert await count(client) == 1


async def assert_refused(resp: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["message"]
    return error


async def test_malformed_json_is_400(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        "/api/v1/meldingen", data=b'{"text": "half', headers={"Content-Type": "application/json"}
    )
    await assert_refused(resp, 400, "malformed_json")
    assert await count(client) == 0


async def test_missing_text_names_the_field(client: TestClient[Any, Any]) -> None:
    error = await assert_refused(
        await client.post("/api/v1/meldingen", json={"subject": "x"}), 422, "invalid_melding"
    )
    assert [f["field"] for f in error["fields"]] == ["text"]
    error = await assert_refused(
        await client.post("/api/v1/meldingen", json={"text": "   "}), 422, "invalid_melding"
    )
    assert error["fields"][0]["field"] == "text"
    assert await count(client) == 0


async def test_wrong_types_name_each_field(client: TestClient[Any, Any]) -> None:
    bad = {"text": 42, "reporter": {"email": "not-an-address"}, "location": {"lat": "noord"}, "colour": "red"}
    error = await assert_refused(await client.post("/api/v1/meldingen", json=bad), 422, "invalid_melding")
    fields = {f["field"] for f in error["fields"]}
    assert {"text", "reporter", "location.lat", "colour"} <= fields
    array = await client.post("/api/v1/meldingen", json=["text"])
    await assert_refused(array, 422, "invalid_melding")
    assert await count(client) == 0


async def test_oversized_body_is_413(client: TestClient[Any, Any], settings: Settings) -> None:
    big = {"text": "x" * (settings.max_body_bytes + 10)}
    await assert_refused(await client.post("/api/v1/meldingen", json=big), 413, "body_too_large")
    form = aiohttp.FormData()
    form.add_field("text", "foto")
    form.add_field(
        "photo",
        b"\xff\xd8\xff" + b"0" * settings.max_body_bytes,
        filename="big.jpg",
        content_type="image/jpeg",
    )
    await assert_refused(await client.post("/api/v1/meldingen", data=form), 413, "body_too_large")
    assert await count(client) == 0


async def test_wrong_content_type_is_415(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/v1/meldingen", data="tekst", headers={"Content-Type": "text/plain"})
    error = await assert_refused(resp, 415, "unsupported_media_type")
    assert "text/plain" in error["message"]
    assert await count(client) == 0


async def test_multipart_with_photo_stores_attachment_on_disk(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    form = aiohttp.FormData()
    form.add_field("text", "Sluikstort naast de glasbol, zie foto")
    form.add_field("reporter_email", "jan@example.be")
    form.add_field("lat", "50.8279")
    form.add_field("lon", "3.2649")
    form.add_field("photo", PNG, filename="../../etc/passwd.png", content_type="image/png")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    got = await (await api_get(client, f"/api/v1/meldingen/{(await resp.json())['id']}")).json()
    assert got["reporter"]["email"] == "jan@example.be"
    assert got["location"]["lat"] == 50.8279
    [att] = got["attachments"]
    assert att["filename"] == "passwd.png"
    assert att["size"] == len(PNG)
    stored = Path(settings.attachments_dir, att["storage_path"])
    assert stored.read_bytes() == PNG
    assert att["sha256"] == stored.name


async def test_multipart_json_part_with_photos(client: TestClient[Any, Any]) -> None:
    form = aiohttp.FormData()
    form.add_field("melding", json.dumps(TILE), content_type="application/json")
    form.add_field("a", PNG, filename="a.png", content_type="image/png")
    form.add_field("b", PNG + b"1", filename="b.png", content_type="image/png")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    got = await (await api_get(client, f"/api/v1/meldingen/{(await resp.json())['id']}")).json()
    assert got["location"]["street"] == "Budastraat"
    assert [a["filename"] for a in got["attachments"]] == ["a.png", "b.png"]


async def test_refused_attachments_store_nothing(client: TestClient[Any, Any], settings: Settings) -> None:
    cases = [
        (b"MZ\x90\x00 executable", "evil.exe", "application/x-msdownload", 415, "attachment_type_refused"),
        (b"MZ\x90\x00 executable", "cat.jpg", "image/jpeg", 415, "attachment_content_mismatch"),
        (PNG + b"0" * settings.max_attachment_bytes, "huge.png", "image/png", 413, "attachment_too_large"),
    ]
    for data, name, ctype, status, code in cases:
        form = aiohttp.FormData()
        form.add_field("text", "met bijlage")
        form.add_field("file", data, filename=name, content_type=ctype)
        error = await assert_refused(await client.post("/api/v1/meldingen", data=form), status, code)
        assert error["field"] == "attachments[0]"
    assert await count(client) == 0
    assert await count(client, attachments) == 0
    assert not settings.attachments_dir.exists() or not any(settings.attachments_dir.rglob("*"))


async def test_bad_idempotency_key_is_400(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/api/v1/meldingen", json=TILE, headers={"Idempotency-Key": "x" * 300})
    await assert_refused(resp, 400, "invalid_idempotency_key")


async def test_unknown_melding_is_json_404(client: TestClient[Any, Any]) -> None:
    await assert_refused(await api_get(client, "/api/v1/meldingen/nope"), 404, "not_found")
    await assert_refused(await client.get("/nothing-here"), 404, "not_found")
