"""A melding from the JSON API or Open311 gets the language of its words, as mail and SMS do, so
that its tracking page and notifications speak it; the API's explicit `language` wins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import meldingen
from tests.support.api import melding, post, store_of
from tests.support.data import TILE
from tests.support.open311 import API_KEY, create

FRENCH = "Bonjour, il y a des déchets dans la rue devant chez nous depuis une semaine"
ENGLISH = "Hello, there is a lot of rubbish dumped in the street near the station"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    on = settings.model_copy(update={"open311_api_keys": [API_KEY]})
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


async def language_of(client: TestClient[Any, Any], created: dict[str, Any]) -> str | None:
    return (await melding(client, created["id"]))["language"]


async def test_the_api_detects_the_language_when_the_body_names_none(app: TestClient[Any, Any]) -> None:
    assert await language_of(app, await post(app, {**TILE, "text": FRENCH})) == "fr"
    assert await language_of(app, await post(app, {**TILE, "text": ENGLISH})) == "en"
    assert await language_of(app, await post(app, TILE)) == "nl"
    # an explicit language wins over the words
    assert await language_of(app, await post(app, {**TILE, "text": FRENCH, "language": "nl"})) == "nl"
    # too few words to tell: none, as for mail and SMS (the reader's default applies)
    assert await language_of(app, await post(app, {**TILE, "text": "Zie foto"})) is None


async def test_the_tracking_page_of_a_french_api_melding_is_french(
    app: TestClient[Any, Any], settings: Settings
) -> None:
    created = await post(app, {**TILE, "text": FRENCH})
    page = await (await app.get(created["tracking_url"].removeprefix(settings.public_url))).text()
    assert '<html lang="fr"' in page


async def test_open311_detects_the_language_of_the_description(app: TestClient[Any, Any]) -> None:
    async def language(**fields: str) -> str | None:
        made = await create(app, **fields)
        found = await store_of(app).read(meldingen.by_reference, made["service_request_id"])
        assert found is not None
        return found.language

    assert await language(description=FRENCH) == "fr"
    assert await language(description=ENGLISH) == "en"
    assert await language() == "nl"  # the form's Dutch description
    assert await language(description="") is None  # the service's name is no citizen's words
