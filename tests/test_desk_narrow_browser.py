"""The desk on a phone-sized screen (390 x 800) in headless Chromium: no desk page is wider than the
screen (the header wraps, tables scroll inside their own box, the map shrinks) and every header link
is on the screen. Screenshots desk_narrow_*.png (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store.operators import Role
from tests.support.api import post, store_of
from tests.support.browser import new_page, screenshot_path
from tests.support.data import TILE
from tests.support.desk import PASSWORD, add_operator
from tests.support.worker import run_worker

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WIDTH = 390


@pytest.fixture
async def site(on: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(on))) as c:
        await add_operator(store_of(c), "an", Role.ADMIN)  # an admin: the longest menu
        yield c


@pytest.fixture
async def narrow(browser: Browser) -> AsyncIterator[Page]:
    tab = await new_page(browser, viewport={"width": WIDTH, "height": 800})
    try:
        yield tab
    finally:
        await tab.context.close()


async def _fits(page: Page, name: str) -> None:
    await page.screenshot(path=screenshot_path(f"desk_narrow_{name}"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width} px wide on a {WIDTH} px screen"
    for link in await page.locator("header a, header button").all():
        box = await link.bounding_box()
        label = await link.inner_text()
        assert box is not None and await link.is_visible(), f"{name}: {label} is hidden"
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{name}: {label} is off the screen"


async def test_every_main_desk_page_fits_a_390_px_screen(
    site: TestClient[Any, Any], narrow: Page, on: Settings
) -> None:
    created = await post(site, TILE)  # an address on the street map
    await run_worker(on)
    await narrow.goto(str(site.make_url("/desk/login")))
    await _fits(narrow, "login")
    await narrow.fill("#name", "an")
    await narrow.fill("#password", PASSWORD)
    await narrow.click("button[type=submit]")
    await narrow.wait_for_url("**/desk/triage")
    assert await narrow.locator("header a").count() == 6  # Triage ... Opzoekingen
    pages = {
        "triage": "/desk/triage",
        "melding": f"/desk/meldingen/{created['id']}",
        "search": "/desk/search?street=budastraat",
        "waiting": "/desk/waiting",
        "duplicates": "/desk/duplicates",
        "overview": "/desk/overview",
        "directory_log": "/desk/directory/log",
    }
    for name, path in pages.items():
        await narrow.goto(str(site.make_url(path)))
        assert narrow.url.endswith(path), narrow.url
        if name == "melding":
            assert await narrow.locator("#map").count() == 1  # the map is there, and fits
        if name == "search":
            assert await narrow.locator("#results tbody tr").count() == 1
        await _fits(narrow, name)
