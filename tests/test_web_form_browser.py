"""The citizen form in headless Chromium (Playwright, Debian's chromium): with JavaScript (a misspelt
street, a suggestion picked, a photo, the thank-you page, the tracking link), news chosen by SMS, what
was typed shown on the thank-you page only in the browser that sent it, without JavaScript, keyboard
only, the map without a reachable tile server, and axe-core (WCAG 2.1 AA) in nl, fr and en.

One store backend is enough here (the pages are what is tested; test_web_form.py runs both). Every
test leaves a screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, ConsoleMessage, Page

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.texts import text
from tests.support.api import api_get
from tests.support.browser import axe_violations, new_page, screenshot_path
from tests.support.http import free_port
from tests.support.tiles import TileServer, tile_server
from tests.support.webform import BIG_PNG, PHOTO_FILE, SCRIPT

Client = TestClient[Any, Any]
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def tiles() -> AsyncIterator[TileServer]:
    async with tile_server() as server:
        yield server


@asynccontextmanager
async def gateway(settings: Settings, **changes: Any) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(settings.model_copy(update=changes)))) as client:
        yield client


@pytest.fixture
async def site(settings: Settings, tiles: TileServer) -> AsyncIterator[Client]:
    async with gateway(settings, map_tile_url=tiles.url) as client:
        yield client


@asynccontextmanager
async def tab(browser: Browser, name: str, **context: Any) -> AsyncIterator[Page]:
    """A page in a context of its own (no JavaScript, a locale ...), its screenshot kept."""
    page = await new_page(browser, **context)
    try:
        yield page
    finally:
        await page.screenshot(path=screenshot_path(name), full_page=True)
        await page.context.close()


def refusals(page: Page) -> list[str]:
    """What the Content-Security-Policy refused on the page (none: no inline script, no foreign host)."""
    refused: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", seen)
    return refused


async def tab_to(page: Page, element_id: str, presses: int = 60) -> None:
    """Tab until the element has the focus: it must be reachable by keyboard."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with Tab")


async def stored(client: Client) -> list[dict[str, Any]]:
    return (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]


async def test_dutch_with_a_photo_and_a_suggested_address_then_the_tracking_page(
    site: Client, tiles: TileServer, browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with tab(browser, request.node.name, locale="nl-BE") as page:
        refused = refusals(page)
        await page.goto(str(site.make_url("/")))  # Accept-Language nl-BE
        assert await page.get_attribute("html", "lang") == "nl"
        await page.fill("#description", SCRIPT)
        await page.set_input_files("#photos", PHOTO_FILE)
        await page.fill("#address", "Budastrat 12")  # misspelt
        await page.get_by_role("option", name="Budastraat 12, 8500 Kortrijk").click()
        assert await page.input_value("#address") == "Budastraat 12, 8500 Kortrijk"
        assert await page.input_value("#street") == "Budastraat"
        assert await page.input_value("#house_number") == "12"
        assert await page.input_value("#lat") != ""
        await page.fill("#reporter_email", "an@example.be")
        await page.check("#feedback-email")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        reference = await page.inner_text("#reference")
        assert "Bedankt voor uw melding" in await page.inner_text("h1")
        assert SCRIPT in await page.inner_text("#summary")  # shown as text, not run
        await page.click("#tracking-link")
        await page.wait_for_url("**/t/**")
        assert reference in await page.inner_text("body")
        assert refused == []
    assert tiles.served, "the map loaded no tile from the configured tile server"
    [melding] = await stored(site)
    assert melding["reference"] == reference and melding["channel"] == "web" and melding["language"] == "nl"
    assert melding["location"]["street"] == "Budastraat" and melding["location"]["house_number"] == "12"
    assert [a["filename"] for a in melding["attachments"]] == ["stoeptegel.jpg"]
    assert melding["text"] == SCRIPT


async def test_dutch_with_news_by_sms_and_the_thanks_page_says_so(
    site: Client, browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with tab(browser, request.node.name, locale="nl-BE") as page:
        await page.goto(str(site.make_url("/")))
        await page.fill("#description", "De straatlamp in de Loofstraat brandt niet meer.")
        await page.fill("#reporter_phone", "0470 12 34 56")
        await page.check("#feedback-sms")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        shown = await page.inner_text("#next-feedback")
        assert shown == text("thanks.next_sms", "nl", phone="+32 470 12 34 56")
    [melding] = await stored(site)
    assert melding["reporter"]["feedback"] == "sms" and melding["reporter"]["phone"] == "+32470123456"


async def test_the_thanks_page_shows_what_was_typed_only_in_the_browser_that_sent_it(
    site: Client, browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with tab(browser, request.node.name, locale="nl-BE") as page:
        await page.goto(str(site.make_url("/")))
        await page.fill("#description", "Kapotte bank bij de flamingovijver.")
        await page.fill("#reporter_email", "zebedeus@example.be")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        thanks = page.url
        reference = await page.inner_text("#reference")
        await page.reload()  # the citizen's own page, reloaded: still theirs
        assert "flamingovijver" in await page.inner_text("#summary")
        assert "zebedeus@example.be" in await page.inner_text("#next-feedback")
    async with tab(browser, request.node.name + "_elsewhere", locale="nl-BE") as other:
        await other.goto(thanks)  # the same link in a browser that did not send it
        shown = await other.inner_text("body")
        assert reference in shown and "flamingovijver" not in shown and "zebedeus" not in shown
        assert text("thanks.details_hidden", "nl") in shown
        assert await axe_violations(other) == []
        await other.click("#tracking-link")
        await other.wait_for_url("**/t/**")


async def test_without_javascript_errors_then_thanks_then_tracking(
    site: Client, browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with tab(browser, request.node.name, java_script_enabled=False, locale="nl-BE") as page:
        await page.goto(str(site.make_url("/")))
        assert not await page.is_visible("#map-block")  # the map needs JavaScript; the address does not
        await page.fill("#address", "Grote Markt 1")
        await page.check("#feedback-sms")
        await page.click("#submit")
        # Refused: the summary lists each error, each field says its own, the address is kept.
        summary = await page.inner_text("#error-summary")
        assert "Beschrijf wat u wilt melden." in summary and "gsm-nummer" in summary
        described = await page.get_attribute("#description", "aria-describedby")
        assert described is not None and "description-error" in described
        assert await page.input_value("#address") == "Grote Markt 1"
        await page.fill("#description", "Een put in het wegdek.")
        await page.set_input_files("#photos", PHOTO_FILE)
        await page.check("#feedback-none")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        reference = await page.inner_text("#reference")
        await page.click("#tracking-link")
        await page.wait_for_url("**/t/**")
        assert reference in await page.inner_text("body")
    [melding] = await stored(site)
    assert melding["location"]["address"] == "Grote Markt 1" and len(melding["attachments"]) == 1


async def test_keyboard_only(site: Client, browser: Browser, request: pytest.FixtureRequest) -> None:
    async with tab(browser, request.node.name, locale="en-GB") as page:
        await page.goto(str(site.make_url("/")))
        await tab_to(page, "description")
        await page.keyboard.type("Street light out since Monday.")
        await tab_to(page, "address")
        await page.keyboard.type("grote mrkt")
        await page.get_by_role("option", name="Grote Markt, 8500 Kortrijk").wait_for()
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")  # picks the suggestion, does not send the form
        assert await page.input_value("#address") == "Grote Markt, 8500 Kortrijk"
        assert page.url.endswith("/")
        await tab_to(page, "map-pin")
        await page.keyboard.press("Enter")
        assert await page.inner_text("#map-status") == text("form.map_pinned", "en")
        await tab_to(page, "reporter_phone")
        await page.keyboard.type("0470 12 34 56")
        await tab_to(page, "feedback-email")
        await page.keyboard.press("ArrowDown")  # radio buttons: arrows move within the group
        await page.keyboard.press("Space")
        assert await page.is_checked("#feedback-sms")
        await tab_to(page, "submit")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/bedankt/**")
        await tab_to(page, "tracking-link")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/t/**")
    [melding] = await stored(site)
    assert melding["reporter"]["phone"] == "+32470123456"
    assert melding["location"]["street"] == "Grote Markt" and melding["location"]["lat"] is not None


async def test_the_map_says_why_it_is_blank_and_the_address_still_works(
    settings: Settings, browser: Browser, request: pytest.FixtureRequest
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"  # nothing listens there
    async with gateway(settings, map_tile_url=unreachable) as site, tab(browser, request.node.name) as page:
        await page.goto(str(site.make_url("/?lang=fr")))
        status = page.locator("#map-status")
        await status.filter(has_text=text("form.map_failed", "fr")).wait_for()
        await page.fill("#address", "Doorniksest.")
        await page.get_by_role("option", name="Doorniksesteenweg, 8500 Kortrijk").click()
        await page.fill("#description", "Dépôt clandestin.")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        assert "Merci pour votre signalement" in await page.inner_text("h1")


async def test_photos_are_checked_before_sending(
    site: Client, browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with tab(browser, request.node.name, locale="en-GB") as page:
        await page.goto(str(site.make_url("/")))
        files: Any = [
            {"name": "groot.png", "mimeType": "image/png", "buffer": BIG_PNG.read_bytes()},
            {"name": "stoeptegel.jpg", "mimeType": "image/jpeg", "buffer": PHOTO_FILE.read_bytes()},
            {"name": "notities.txt", "mimeType": "text/plain", "buffer": b"plain text"},
        ]
        await page.set_input_files("#photos", files)
        check = await page.inner_text("#photos-check")
        assert "groot.png is too large (at most 16 kB) and will not be sent" in check
        assert "notities.txt is not a photo or PDF we accept" in check
        names = await page.evaluate("() => [...document.getElementById('photos').files].map(f => f.name)")
        assert names == ["stoeptegel.jpg"]  # the refused one is taken out of the selection


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
async def test_no_serious_accessibility_violations(
    site: Client, browser: Browser, request: pytest.FixtureRequest, lang: str
) -> None:
    async with tab(browser, request.node.name) as page:
        await page.goto(str(site.make_url(f"/?lang={lang}")))
        assert await axe_violations(page) == [], "empty form"
        await page.click("#submit")  # nothing filled in: the form with its errors
        await page.wait_for_selector("#error-summary")
        assert await page.evaluate("() => document.activeElement.id") == "error-summary"
        assert await axe_violations(page) == [], "form with errors"
        await page.fill("#description", "<b>Graffiti</b> op de brug")
        await page.click("#submit")
        await page.wait_for_url("**/bedankt/**")
        assert await page.get_attribute("html", "lang") == lang
        assert await axe_violations(page) == [], "thank-you page"


async def test_works_on_a_phone(site: Client, browser: Browser, request: pytest.FixtureRequest) -> None:
    phone = {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "locale": "nl-BE",
    }
    async with tab(browser, request.node.name, **phone) as page:
        await page.goto(str(site.make_url("/")))
        wider = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, "the form scrolls sideways on a phone"
        await page.fill("#description", "Zwerfvuil op het plein.")
        await page.tap("#submit")
        await page.wait_for_url("**/bedankt/**")
        assert await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
