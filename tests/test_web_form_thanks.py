"""The thank-you page `/bedankt/{token}` over HTTP: what the citizen typed only for the browser that
sent it (a cookie set with the 303), the reference and tracking link for anyone else with the token
(the tracking page's own, in every mail), and its misses counted with the tracking page's.

The same in Chromium (the sending browser against a fresh one): test_web_form_browser.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.texts import text
from tests.support.api import post
from tests.support.http import free_port
from tests.support.webform import citizen_client, form_data, thanks_token

Client = TestClient[Any, Any]

# What a reporter typed, each part findable in a page.
TYPED = {
    "description": "Kapotte bank bij de flamingovijver",
    "reporter_name": "Zebedeus Quaxelmann",
    "reporter_email": "zebedeus.quaxelmann@example.be",
    "reporter_phone": "0470 55 50 17",
}
PERSONAL = ("flamingovijver", "quaxelmann@example.be", "470 55 50 17", "Quaxelmann")


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Client]:
    limited = settings.model_copy(update={"tracking_miss_limit": 3, "tracking_miss_window": 600})
    async with citizen_client(create_app(limited)) as c:
        yield c


async def sent(site: Client, **fields: str) -> str:
    """The thank-you page's path after posting the form from the test client's own "browser"."""
    answer = await site.post("/", data=form_data(**fields), allow_redirects=False)
    assert answer.status == 303, await answer.text()
    return str(answer.headers["Location"])


async def elsewhere(site: Client, path: str, cookies: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    """`path` asked by another browser: a session of its own, without the sender's cookies."""
    async with aiohttp.ClientSession(cookies=cookies) as other:
        answer = await other.get(site.make_url(path))
        await answer.read()
        return answer


async def test_the_sending_browser_sees_what_it_typed_and_anyone_else_only_the_reference(
    site: Client,
) -> None:
    path = await sent(site, **TYPED, feedback="sms", lang="en")
    token = thanks_token(path)

    own = await site.get(path)
    page = await own.text()
    assert own.status == 200 and own.headers["Cache-Control"] == "no-store"
    assert "flamingovijver" in page and "+32 470 55 50 17" in page  # the summary and "an SMS at ..."

    other = await elsewhere(site, path)
    shown = await other.text()
    assert other.status == 200 and '<html lang="en">' in shown
    assert f'href="/t/{token}"' in shown and "1777-" in shown  # the reference and tracking link
    for personal in PERSONAL:
        assert personal not in shown, personal
    assert text("thanks.next_link", "en") in shown and text("thanks.details_hidden", "en") in shown
    # The token is no key to the details: a cookie holding it, or another melding's, is not the sender's.
    assert "flamingovijver" not in await (await elsewhere(site, path, {"gateway-thanks": token})).text()
    other_path = await sent(site, description="Graffiti op de brug")
    assert other_path != path
    jar = {c.key: c.value for c in site.session.cookie_jar if c["path"] == other_path}
    assert "flamingovijver" not in await (await elsewhere(site, path, jar)).text()


async def test_the_cookie_is_for_that_page_only_unreadable_by_scripts_and_lasts_an_hour(site: Client) -> None:
    answer = await site.post("/", data=form_data(**TYPED), allow_redirects=False)
    path = answer.headers["Location"]
    cookie = SimpleCookie(answer.headers["Set-Cookie"])["gateway-thanks"]
    assert cookie["path"] == path and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["max-age"] == "3600" and cookie["secure"]  # the tests' public_url is https://
    assert "flamingovijver" not in await (await site.get(f"/t/{thanks_token(path)}")).text()


async def test_a_melding_of_another_channel_shows_nothing_personal_on_the_thanks_page(site: Client) -> None:
    reporter = {"email": "an@example.be", "phone": "0470123456"}
    body = {"text": "Sluikstort aan de glasbol", "reporter": reporter}
    created = await post(site, body)
    token = created["tracking_url"].rsplit("/", 1)[1]
    page = await (await site.get(f"/bedankt/{token}")).text()
    assert created["reference"] in page
    assert "glasbol" not in page and "an@example.be" not in page and "470 12 34 56" not in page


async def test_unknown_tokens_on_the_thanks_page_count_toward_the_tracking_pages_limit(site: Client) -> None:
    path = await sent(site, description="Losse tegel")
    token = thanks_token(path)
    for _ in range(5):  # reloading one's own page never counts
        assert (await site.get(path)).status == 200
    for guess in ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", token + "x"):
        assert (await site.get(f"/bedankt/{guess}")).status == 404
    assert (await site.get("/t/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")).status == 404  # the third miss
    # Over the limit: 429 on both pages, the valid token's too (else a hit would stand out).
    limited = await site.get(path, headers={"Accept-Language": "fr"})
    assert limited.status == 429 and 0 < int(limited.headers["Retry-After"]) <= 600
    assert text("track.rate_title", "fr") in await limited.text()
    assert (await site.get(f"/t/{token}")).status == 429
    assert (await site.get("/bedankt/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")).status == 429


async def test_with_redis_down_the_citizen_is_still_thanked_without_the_details(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with citizen_client(create_app(down)) as site:
        answer = await site.post("/", data=form_data(**TYPED), allow_redirects=False)
        assert answer.status == 303 and "Set-Cookie" not in answer.headers
        page = await site.get(answer.headers["Location"])
        shown = await page.text()
        assert page.status == 200 and "1777-" in shown and "flamingovijver" not in shown
