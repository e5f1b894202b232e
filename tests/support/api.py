"""The JSON API as the case system and web clients use it: new meldingen, reads, signed calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.melding import EVENT_CREATED, Attachment, Stage
from gateway.queue import enqueue_delivery
from gateway.signing import sign
from gateway.store import Store, deliveries, inbound, meldingen
from tests.support.data import TILE
from tests.support.http import SECRET


async def post(client: TestClient[Any, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = await client.post("/api/v1/meldingen", json=body or TILE)
    assert resp.status == 202
    return await resp.json()


async def desk_decision(client: TestClient[Any, Any], key: str, body: Any, secret: str = SECRET) -> Any:
    """The desk's signed `POST /api/v1/meldingen/{key}/dienst` (`body` as bytes too: a malformed one)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(secret, raw)}
    return await client.post(f"/api/v1/meldingen/{key}/dienst", data=raw, headers=headers)


async def delivered(client: TestClient[Any, Any], key: str) -> None:
    """The melding (id or reference) recorded as accepted by the case system, when it was not yet:
    a status callback needs a case. For tests about what a status does, not how a melding gets
    there (one left in triage, one whose Redis hangs). No status is set: nothing to notify."""

    def accept(conn: Any) -> None:
        found = meldingen.by_id_or_reference(conn, key)
        assert found is not None, key
        if found.has_case:
            return
        made = deliveries.ensure(conn, found.id, EVENT_CREATED, key="created")
        deliveries.succeeded(conn, made.id, case_id="C1", stage=Stage.DELIVERED)

    await store_of(client).write(accept)


async def melding(client: TestClient[Any, Any], melding_id: str) -> dict[str, Any]:
    return await (await api_get(client, f"/api/v1/meldingen/{melding_id}")).json()


def api_get(client: TestClient[Any, Any], path: str, **kwargs: Any) -> Any:
    """GET with the app's read token (`GATEWAY_API_READ_TOKEN`), as the desk's tools read meldingen."""
    token = client.server.app[SETTINGS].api_read_token
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return client.get(path, headers=headers, **kwargs)


def store_of(client: TestClient[Any, Any]) -> Store:
    """The store of the app under test."""
    return client.server.app[STORE]


def signed(
    body: dict[str, Any], secret: str = SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", **sign(secret, raw, timestamp)}


async def add_followup(
    client: TestClient[Any, Any],
    melding_id: str,
    external_id: str,
    text: str,
    files: Sequence[Attachment] = (),
) -> None:
    """A reporter's SMS follow-up as the channel stores it (with `files` stored already), its
    delivery queued."""
    added = await store_of(client).write(
        inbound.add_followup,
        melding_id,
        channel="sms",
        external_id=external_id,
        received_at=datetime.now(UTC),
        sender="+32470123456",
        text=text,
        files=files,
    )
    assert added.delivery is not None
    await enqueue_delivery(client.app[REDIS], client.app[SETTINGS].queue_name, added.delivery)
