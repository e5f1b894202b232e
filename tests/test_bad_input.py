"""Bad input from strangers never gives a 5xx, never stores half a melding, never leaves a file behind.

Texts are cleaned, not refused (gateway.cleantext): NUL and the other C0 controls except tab,
newline and carriage return are dropped, lone surrogates become U+FFFD, on every channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from tests.support import phone, sms

NUL = "\x00"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    """Every channel on: phone records and Twilio SMS beside the API."""
    on = settings.model_copy(
        update={
            "phone_secret": phone.PHONE_SECRET,
            "twilio_auth_token": sms.TOKEN,
            "twilio_number": sms.OUR_NUMBER,
        }
    )
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body["error"]) >= {"code", "message"}
    return body["error"]


def _files(settings: Settings) -> list[Path]:
    return [p for p in settings.attachments_dir.rglob("*") if p.is_file()]


# -- item 5: 405 says what is allowed ------------------------------------------------------------------


async def test_method_not_allowed_names_the_allowed_methods(app: TestClient[Any, Any]) -> None:
    resp = await app.delete("/api/v1/meldingen")
    error = await _error(resp, 405)
    assert error["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
    assert resp.content_type == "application/json"
