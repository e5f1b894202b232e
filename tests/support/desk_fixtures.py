"""The desk's shared fixtures (a pytest plugin, loaded by tests/conftest.py): `on`, the test settings
with the desk's plain-http cookies and the SMTP relay, and `desk_client`, the app with operator "an"
logged in. A test module that needs other settings defines its own `on`, which takes precedence.
For the overview: `at_now`, the clock standing at the seeded store's NOW, and `overview_site`, the
app over that store (tests/support/overview.py) with operator "an" (not logged in)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from tests.support.api import store_of
from tests.support.desk import add_operator, desk_settings, login
from tests.support.http import RelayHandler
from tests.support.overview import NOW, seed


@pytest.fixture
def on(settings: Settings, smtp_relay: tuple[str, RelayHandler]) -> Settings:
    return desk_settings(settings, smtp_relay=smtp_relay[0])


@pytest.fixture
async def desk_client(on: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(on))) as c:
        await add_operator(store_of(c), "an")
        assert (await login(c, "an")).status == 303
        yield c


@pytest.fixture
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
async def overview_site(settings: Settings, at_now: None) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(desk_settings(settings)))) as c:
        await seed(store_of(c))
        await add_operator(store_of(c), "an")
        yield c
