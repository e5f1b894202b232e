"""The JSON API as the case system and web clients use it: new meldingen, reads, signed calls."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import STORE
from gateway.signing import sign
from gateway.store import Store
from tests.support.data import TILE
from tests.support.http import SECRET


async def post(client: TestClient[Any, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = await client.post("/api/v1/meldingen", json=body or TILE)
    assert resp.status == 202
    return await resp.json()


async def melding(client: TestClient[Any, Any], melding_id: str) -> dict[str, Any]:
    return await (await client.get(f"/api/v1/meldingen/{melding_id}")).json()


def store_of(client: TestClient[Any, Any]) -> Store:
    """The store of the app under test."""
    return client.server.app[STORE]


def signed(
    body: dict[str, Any], secret: str = SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", **sign(secret, raw, timestamp)}
