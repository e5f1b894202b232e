"""The desk's pages in tests: operators in the store, a logged-in client, the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway import passwords
from gateway.config import Settings
from gateway.store import Store, operators
from gateway.store.operators import Role

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def desk_settings(settings: Settings, **extra: Any) -> Settings:
    """Plain-http cookies (the test client does not send Secure cookies over http) and a fixed key."""
    values = {"desk_cookie_secure": False, "desk_session_secret": "test-desk-session-secret", **extra}
    return settings.model_copy(update=values)


async def add_operator(store: Store, name: str, role: Role = Role.OPERATOR, password: str = PASSWORD) -> None:
    await store.write(operators.add, name, role, passwords.hash_password(password))


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


async def login(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> ClientResponse:
    """The login form as a browser sends it (its CSRF token from the page); the answer, not followed."""
    page = await client.get("/desk/login")
    token = csrf_in(await page.text())
    form = {"csrf": token, "name": name, "password": password, "next": "/desk/triage"}
    return await client.post("/desk/login", data=form, allow_redirects=False)


async def csrf_of(client: TestClient[Any, Any], path: str = "/desk/triage") -> str:
    page = await client.get(path)
    assert page.status == 200, await page.text()
    return csrf_in(await page.text())
