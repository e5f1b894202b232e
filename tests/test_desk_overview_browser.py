"""The overview in headless Chromium: log in, open /desk/overview over the seeded store
(tests/support/overview.py), every chart drawn (the SVG loaded as an image), the hotspot map without
tiles, another period chosen; axe-core finds nothing serious. Screenshots desk_overview_*.png in
test-artifacts/screenshots/ (tests/support/browser.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Page

from gateway.http.desk_pages.overview import CHARTS
from tests.support.browser import axe_violations, screenshot_path
from tests.support.desk import PASSWORD

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_an_operator_opens_the_overview(overview_site: TestClient[Any, Any], page: Page) -> None:
    site = overview_site  # the seeded store, operator "an" (tests/support/desk_fixtures.py)
    await page.goto(str(site.make_url("/desk/overview")))
    assert "/desk/login" in page.url
    await page.fill("#name", "an")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/desk/overview")  # back where the login was asked for
    assert await page.inner_text("#total") == "12"
    charts = page.locator("section.chart img")
    assert await charts.count() == len(CHARTS)
    for n in range(len(CHARTS)):
        img = charts.nth(n)
        await img.scroll_into_view_if_needed()
        drawn = await img.evaluate("i => i.complete && i.naturalWidth > 0")
        assert drawn, await img.get_attribute("src")
    assert await page.locator("#hotspot-map circle.hotspot").count() == 1
    assert await page.locator("ol.clusters > li").count() == 2
    assert await axe_violations(page) == []
    await page.screenshot(path=screenshot_path("desk_overview_1_30_days"), full_page=True)
    await page.locator("#per_day_channel details summary").click()
    assert await page.locator("#table-per_day_channel tbody tr").count() == 30
    await page.select_option("#days", "7")
    await page.click("form.period button")
    await page.wait_for_url("**/desk/overview?days=7")
    assert await page.inner_text("#total") == "10"
    await page.screenshot(path=screenshot_path("desk_overview_2_7_days"), full_page=True)
