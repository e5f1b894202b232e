"""The desk's shared fixtures (a pytest plugin, loaded by tests/conftest.py): `on`, the test settings
with the desk's plain-http cookies and the SMTP relay, and `desk_client`, the app with operator "an"
logged in. A test module that needs other settings defines its own `on`, which takes precedence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from tests.support.api import store_of
from tests.support.desk import add_operator, desk_settings, login
from tests.support.http import RelayHandler


@pytest.fixture
def on(settings: Settings, smtp_relay: tuple[str, RelayHandler]) -> Settings:
    return desk_settings(settings, smtp_relay=smtp_relay[0])


@pytest.fixture
async def desk_client(on: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(on))) as c:
        await add_operator(store_of(c), "an")
        assert (await login(c, "an")).status == 303
        yield c
