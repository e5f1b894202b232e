"""The desk's search and the reporter directory in headless Chromium: log in, search by street and by
reporter (a name the directory knows), open a result and see who the reporter is and where they live.
Screenshots of each step in test-artifacts/screenshots/ (desk_search_*.png, tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page

from gateway.config import Settings
from gateway.directory import read_csv
from gateway.http.app import create_app
from gateway.store import directory as store_directory
from tests.support.api import post, store_of
from tests.support.browser import axe_violations, screenshot_path
from tests.support.data import ROOT
from tests.support.desk import PASSWORD, add_operator, desk_settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(desk_settings(settings)))) as c:
        store = store_of(c)
        await add_operator(store, "an")
        people, _ = read_csv(ROOT / "tests" / "data" / "directory" / "people.csv")
        await store.write(store_directory.save, people, replace=False)
        yield c


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=screenshot_path(f"desk_search_{name}"), full_page=True)


async def test_an_operator_searches_by_street_and_by_reporter_and_opens_a_result(
    site: TestClient[Any, Any], page: Page
) -> None:
    location = {"street": "Budastraat", "house_number": "12", "postcode": "8500"}
    tile = await post(
        site,
        {
            "text": "Losliggende tegels op het voetpad.",
            "reporter": {"email": "jan.peeters@example.be"},
            "location": location,
        },
    )
    other = {"street": "Doorniksestraat", "house_number": "4", "postcode": "8500"}
    await post(site, {"text": "De straatlamp brandt niet.", "reporter": {"name": "Tom"}, "location": other})

    await page.goto(str(site.make_url("/desk/search")))
    await page.fill("#name", "an")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/desk/search")
    await _shot(page, "1_form")

    await page.fill("#street", "budastr")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_url("**/desk/search?*street=budastr*")
    rows = page.locator("#results tbody tr")
    assert await rows.count() == 1
    assert await rows.first.get_attribute("data-reference") == tile["reference"]
    assert "Directory: Jan Peeters, Budastraat 12, 8500 Kortrijk" in await rows.first.inner_text()
    assert await axe_violations(page) == []
    await _shot(page, "2_by_street")

    await page.fill("#street", "")
    await page.fill("#reporter", "jan peeters")  # not on the melding: the directory knows his e-mail
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_url("**/desk/search?*reporter=jan*")
    assert "In de directory gevonden: Jan Peeters (Kortrijk)" in await page.inner_text("#directory-people")
    assert await rows.count() == 1
    await _shot(page, "3_by_reporter")

    await page.get_by_role("link", name=tile["reference"]).click()
    await page.wait_for_url(f"**/desk/meldingen/{tile['id']}")
    directory = await page.inner_text("#directory")
    assert "Jan Peeters" in directory and "Budastraat 12" in directory and "*********28" in directory
    assert "85073003328" not in await page.content()
    assert await axe_violations(page) == []
    await _shot(page, "4_melding")
