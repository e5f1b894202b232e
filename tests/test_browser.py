"""The page-test tooling itself: Debian's Chromium starts headless and axe-core runs in a page."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import Page

from tests.support.browser import axe_violations


async def test_tracking_page_of_an_unknown_token_renders_in_chromium(client: TestClient, page: Page) -> None:
    url = str(client.make_url("/t/no-such-token"))
    # The page follows the browser's language (Chromium says en-US unless told): a Flemish browser.
    await page.set_extra_http_headers({"Accept-Language": "nl-BE,nl;q=0.9"})
    response = await page.goto(url)
    assert response is not None and response.status == 404
    assert await page.get_attribute("html", "lang") == "nl"
    assert "link" in (await page.inner_text("body")).lower()


async def test_axe_reports_a_serious_violation_on_a_bad_page(page: Page) -> None:
    # An image without alternative text and a form field without a label: axe must see both,
    # or a clean report on a real page would prove nothing.
    bad = '<html lang="en"><body><main><img src="x.png"><input type="text"></main></body></html>'
    await page.set_content(bad)
    found = {v["id"] for v in await axe_violations(page)}
    assert {"image-alt", "label"} <= found
