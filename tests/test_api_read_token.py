"""Reading meldingen through the API (reporters' names, addresses, texts) needs the read token:
`Authorization: Bearer <GATEWAY_API_READ_TOKEN>`; without one configured, nobody reads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.openapi import SECURITY_SCHEMES, document
from gateway.http.openapi import Site as OpenApiSite
from tests.support.api import api_get, post
from tests.support.http import READ_TOKEN

READS = ["/api/v1/meldingen", "/api/v1/meldingen?stage=triage", "/api/v1/meldingen/{id}"]


async def assert_unauthorized(resp: Any, says: str) -> None:
    assert resp.status == 401, await resp.text()
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    error = (await resp.json())["error"]
    assert error["code"] == "unauthorized"
    assert says in error["message"]


@pytest.mark.parametrize("path", READS)
async def test_a_read_without_the_token_is_refused(client: TestClient[Any, Any], path: str) -> None:
    created = await post(client)
    resp = await client.get(path.format(id=created["id"]))
    await assert_unauthorized(resp, "Authorization: Bearer")
    assert "Budastraat" not in await resp.text()


@pytest.mark.parametrize("given", [f"Bearer {READ_TOKEN}x", "Bearer ", f"Basic {READ_TOKEN}", READ_TOKEN])
async def test_a_wrong_token_is_refused_and_not_logged(
    client: TestClient[Any, Any], given: str, caplog: pytest.LogCaptureFixture
) -> None:
    created = await post(client)
    with caplog.at_level(logging.WARNING):
        resp = await client.get(f"/api/v1/meldingen/{created['id']}", headers={"Authorization": given})
    await assert_unauthorized(resp, "wrong read token")
    assert "API read refused" in caplog.text
    assert READ_TOKEN not in caplog.text


async def test_an_unknown_id_is_refused_before_it_is_looked_up(client: TestClient[Any, Any]) -> None:
    # Without the token, 401 whether or not the id exists: the answer tells a stranger nothing.
    await assert_unauthorized(await client.get("/api/v1/meldingen/nope"), "Authorization")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_token_reads_list_and_melding(client: TestClient[Any, Any], scheme: str) -> None:
    created = await post(client)
    headers = {"Authorization": f"{scheme} {READ_TOKEN}"}
    one = await client.get(f"/api/v1/meldingen/{created['id']}", headers=headers)
    assert one.status == 200
    assert (await one.json())["reference"] == created["reference"]
    listed = await client.get("/api/v1/meldingen", headers=headers)
    assert [m["id"] for m in (await listed.json())["meldingen"]] == [created["id"]]


@pytest.fixture
async def no_token(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(settings.model_copy(update={"api_read_token": ""})))) as c:
        yield c


@pytest.mark.parametrize("given", [None, "Bearer ", "Bearer anything"])
async def test_without_a_configured_token_nobody_reads(
    no_token: TestClient[Any, Any], given: str | None
) -> None:
    created = await post(no_token)
    headers = {"Authorization": given} if given is not None else {}
    for path in READS:
        resp = await no_token.get(path.format(id=created["id"]), headers=headers)
        await assert_unauthorized(resp, "set GATEWAY_API_READ_TOKEN")
    # posting a melding needs no token: it is the city's public form
    assert (await no_token.post("/api/v1/meldingen", json={"text": "Losliggende tegel"})).status == 202


async def test_helper_reads_with_the_apps_token(client: TestClient[Any, Any]) -> None:
    # tests/support/api.api_get, which the rest of the suite reads with, sends this app's token
    created = await post(client)
    assert (await api_get(client, f"/api/v1/meldingen/{created['id']}")).status == 200


def test_the_description_names_the_scheme_and_the_401() -> None:
    doc = document(OpenApiSite("https://meldpunt.example", "kortrijk.be", ()))
    assert doc["components"]["securitySchemes"] == SECURITY_SCHEMES
    assert {"type": "http", "scheme": "bearer"}.items() <= SECURITY_SCHEMES["readToken"].items()
    for path in ("/api/v1/meldingen", "/api/v1/meldingen/{id}"):
        read = doc["paths"][path]["get"]
        assert read["security"] == [{"readToken": []}]
        assert "401" in read["responses"]
    assert "security" not in doc["paths"]["/api/v1/meldingen"]["post"]  # intake stays open
