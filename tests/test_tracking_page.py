"""The tracking page as a parcel tracker (issue 12 item 4): headless Chromium in nl/fr/en, the JSON
twin, photo thumbnails without metadata, nothing of other reporters or internal notes, and guessed
tokens answered 404 and then 429.

One street lamp is reported twice through the real pipeline (intake, arq worker, dedupe, webhook
receiver): An by address, then Bert by a map pin with a photo; Bert's melding is a duplicate of
An's, and the case system plans the repair of An's with a note for the citizen.
"""

from __future__ import annotations

import io
import json
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page
from sqlalchemy import update

from gateway import texts
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Status
from gateway.store.schema import meldingen
from tests.support.api import melding, post, signed, store_of
from tests.support.browser import axe_violations, new_page, screenshot_path
from tests.support.data import LAMP_PIN, LAMP_TEXT, TILE
from tests.support.http import Receiver
from tests.support.worker import run_worker

CASE_NOTE = "De lamp wordt vervangen door de netbeheerder."
BERT_PHONE = "+32 470 99 88 77"
# Every way a page could write Bert's number (as given, E.164, national with and without spaces, the
# national significant number): whole numbers, which no timestamp or id contains by chance, as a
# fragment such as "470" could.
BERT_PHONE_FORMS = (BERT_PHONE, "+32470998877", "0470 99 88 77", "0470998877", "470998877")
GPS_IFD = 0x8825
ARTIST = 0x013B


def photo_with_metadata() -> bytes:
    """A JPEG as a phone writes it: the photographer's name and the GPS position in its EXIF."""
    image = Image.new("RGB", (800, 600), (40, 60, 90))
    ImageDraw.Draw(image).ellipse((300, 200, 500, 400), fill=(250, 220, 120))
    exif = Image.Exif()
    exif[ARTIST] = "Bert Maes"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (50.0, 49.0, 1.7), 3: "E", 4: (3.0, 15.0, 48.3)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=60)
    return out.getvalue()


async def lamp_reported_twice(
    client: TestClient[Any, Any], settings: Settings
) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """An's melding and Bert's duplicate as the API shows them, then their tracking paths; the
    repair planned."""
    first = await post(client, LAMP_TEXT)
    await run_worker(settings)
    form = FormData()
    pin = {**LAMP_PIN, "reporter": {**LAMP_PIN["reporter"], "phone": BERT_PHONE}}
    form.add_field("melding", json.dumps(pin), content_type="application/json")
    form.add_field("photo", photo_with_metadata(), filename="lamp.jpg", content_type="image/jpeg")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    second = await resp.json()
    await run_worker(settings)
    raw, headers = signed({"status": "gepland", "planned_date": "2026-12-03", "note": CASE_NOTE})
    resp = await client.post(f"/api/v1/meldingen/{first['reference']}/status", data=raw, headers=headers)
    assert resp.status == 200, await resp.text()
    await run_worker(settings)

    def language_unknown(conn: Any) -> None:
        # As a melding whose language nobody could tell ("Zie foto"): the page follows the browser.
        ids = [first["id"], second["id"]]
        conn.execute(update(meldingen).where(meldingen.c.id.in_(ids)).values(language=None))

    await store_of(client).write(language_unknown)
    an, bert = await melding(client, first["id"]), await melding(client, second["id"])
    assert bert["duplicate_of"] == an["id"] and bert["status"] == "gepland"
    # the gateway's own note on Bert's melding names An's melding: internal, never on the page
    assert any(an["reference"] in (h["note"] or "") for h in bert["status_history"])
    paths = [m["tracking_url"].removeprefix(settings.public_url) for m in (first, second)]
    return an, bert, paths[0], paths[1]


def strangers(an: dict[str, Any], bert: dict[str, Any]) -> list[str]:
    """What Bert's page must never show: both reporters' data and the internal note's reference."""
    found = [an["reporter"]["name"], an["reporter"]["email"], an["reference"], "Gekoppeld"]
    found += [bert["reporter"][k] for k in ("name", "email", "phone")]
    return found + [bert["text"], "Maes", *BERT_PHONE_FORMS]


async def test_the_page_in_three_languages_in_chromium(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, browser: Browser
) -> None:
    an, bert, _, path = await lamp_reported_twice(client, settings)
    url = str(client.make_url(path))
    # axe is injected as an inline script, which the page's CSP rightly forbids: this context lets
    # it in (the CSP itself is checked by test_the_page_works_under_its_own_csp).
    page = await new_page(browser, bypass_csp=True, extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    try:
        response = await page.goto(url)
        assert response is not None and response.status == 200
        await check_language(page, "en", an, bert)

        # keyboard: the switcher's links come first in the tab order; Enter follows one
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.hreflang") == "nl"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.hreflang") == "fr"
        await page.keyboard.press("Enter")
        await page.wait_for_url("**?lang=fr")
        await check_language(page, "fr", an, bert)

        await page.click("a[hreflang=nl]")
        await page.wait_for_url("**?lang=nl")
        await check_language(page, "nl", an, bert)
        assert await page.get_attribute("a[hreflang=nl]", "aria-current") == "page"
    finally:
        await page.screenshot(path=screenshot_path("tracking_page_three_languages"), full_page=True)
        await page.context.close()


async def check_language(page: Page, lang: str, an: dict[str, Any], bert: dict[str, Any]) -> None:
    assert await page.get_attribute("html", "lang") == lang
    # the steps: the main line, In behandeling passed on the way, Gepland current (in words too)
    steps = page.locator("#steps li")
    codes = [await steps.nth(i).get_attribute("data-status") for i in range(await steps.count())]
    assert codes == ["ontvangen", "geregistreerd", "in_behandeling", "gepland", "behandeld"]
    current = page.locator("#steps li[aria-current=step]")
    assert await current.count() == 1 and await current.get_attribute("data-status") == "gepland"
    current_text = await current.inner_text()
    assert texts.status_label(Status.GEPLAND, lang) in current_text
    assert texts.text("track.current", lang) in current_text
    todo = await page.locator("#steps li[data-status=behandeld]").inner_text()
    assert texts.text("track.todo", lang) in todo
    assert await page.inner_text("#dienst") == texts.text("dienst.verlichting", lang)
    assert "03/12/2026" in await page.inner_text("#planned")
    assert CASE_NOTE in await page.inner_text("#notes")
    # the place: the street in words and the offline map with its marker and streets
    assert "Loofstraat" in await page.inner_text("#street")
    assert await page.locator("#map").is_visible() and await page.locator("#map-marker").count() == 1
    assert "Loofstraat" in await page.locator("#map text").all_text_contents()
    # the photo thumbnail loads
    img = page.locator("#photos img")
    assert await img.count() == 1
    await page.wait_for_function("document.querySelector('#photos img').complete")
    assert await img.evaluate("i => i.naturalWidth") > 0
    assert texts.text("track.photo", lang, n=1) == await img.get_attribute("alt")
    # nothing of the other reporter, of Bert himself, or the internal note
    html = await page.content()
    for secret in strangers(an, bert):
        assert secret not in html, secret
    assert await axe_violations(page) == []


async def test_the_page_works_under_its_own_csp(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver, page: Page
) -> None:
    created = await post(client, {**TILE, "language": "fr"})
    await run_worker(settings)
    path = created["tracking_url"].removeprefix(settings.public_url)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    response = await page.goto(str(client.make_url(path)))
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    # the page's own style applies (allowed by its hash): the current step's wide border
    width = await page.locator("#steps li[aria-current=step]").evaluate(
        "e => getComputedStyle(e).borderLeftWidth"
    )
    assert width == "10px" and blocked == []
    # the melding's language (fr) wins over the browser's (en-US)
    assert await page.get_attribute("html", "lang") == "fr"
    # an inline script slipped into the page would not run
    await page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.ran = true'; document.body.appendChild(s); }""")
    assert await page.evaluate("window.ran === undefined")


async def test_the_json_twin_has_the_same_data_and_no_personal_data(
    client: TestClient[Any, Any], settings: Settings, receiver: Receiver
) -> None:
    an, bert, an_path, path = await lamp_reported_twice(client, settings)
    resp = await client.get(f"{path}.json", headers={"Accept-Language": "fr"})
    assert resp.status == 200 and resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # portals on other origins
    body = await resp.json()
    assert body["reference"] == bert["reference"] and body["language"] == "fr"
    assert body["status"] == {"code": "gepland", "label": texts.status_label(Status.GEPLAND, "fr")}
    assert [(s["code"], s["state"]) for s in body["steps"]] == [
        ("ontvangen", "done"),
        ("geregistreerd", "done"),
        ("in_behandeling", "done"),
        ("gepland", "current"),
        ("behandeld", "todo"),
    ]
    assert body["dienst"] == {"code": "verlichting", "name": texts.text("dienst.verlichting", "fr")}
    assert body["planned_date"] == "2026-12-03"
    assert [n["text"] for n in body["notes"]] == [CASE_NOTE]
    assert body["place"]["street"] == "Loofstraat" and body["place"]["lat"] is not None
    assert body["received_at"] == bert["received_at"]
    assert [p["url"] for p in body["photos"]] == [f"{path}/photos/1"]
    text = json.dumps(body, ensure_ascii=False)
    for secret in strangers(an, bert):
        assert secret not in text, secret

    # the thumbnail: a small JPEG, upright, without the EXIF name and GPS position of the original
    photo = await client.get(f"{path}/photos/1")
    assert photo.status == 200 and photo.content_type == "image/jpeg"
    thumb = Image.open(io.BytesIO(await photo.read()))
    assert max(thumb.size) == 480 and thumb.size[0] > thumb.size[1]
    assert not thumb.getexif() and "exif" not in thumb.info
    assert b"Bert" not in await photo.read()
    for other in ("2", "0", "x"):
        missing = await client.get(f"{path}/photos/{other}")
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    # An's own page has no photo (Bert's stays with Bert's melding)
    assert (await (await client.get(f"{an_path}.json")).json())["photos"] == []


async def test_guessed_tokens_get_404_then_429_and_reloading_a_valid_page_never_counts(
    settings: Settings,
) -> None:
    limited = settings.model_copy(update={"tracking_miss_limit": 3, "tracking_miss_window": 600})
    async with TestClient(TestServer(create_app(limited))) as client:
        created = await post(client)
        path = created["tracking_url"].removeprefix(settings.public_url)
        for _ in range(10):  # a citizen reloading their page: never a miss
            assert (await client.get(path)).status == 200
        assert (await client.get(f"{path}.json")).status == 200

        answers = []
        for guess in (path + "x", "/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/t/guess.json"):
            resp = await client.get(guess)
            assert resp.status == 404
            answers.append((resp.content_type, await resp.text()))
        html_answers = [a for a in answers if a[0] == "text/html"]
        assert len(html_answers) == 2 and html_answers[0] == html_answers[1]  # whatever the guess
        assert json.loads(answers[2][1])["error"]["code"] == "not_found"

        # over the limit: 429 with Retry-After on every tracking URL, the valid one included (else
        # a guesser would tell a hit from a miss), as HTML for the page and JSON for the JSON
        page = await client.get("/t/another-guess", headers={"Accept-Language": "en"})
        assert page.status == 429 and 0 < int(page.headers["Retry-After"]) <= 600
        assert texts.text("track.rate_title", "en") in await page.text()
        twin = await client.get(f"{path}.json")
        assert twin.status == 429 and (await twin.json())["error"]["code"] == "too_many_requests"
        assert (await client.get(path)).status == 429
        assert (await client.get(f"{path}/photos/1")).status == 429


async def test_a_json_link_with_a_dotted_token_answers_json(client: TestClient[Any, Any]) -> None:
    # A token holding a dot is no JSON twin's route (page tokens have none) and fell to the page's,
    # which answered a client asking for .json with an HTML 404 (a finding of fuzzing the API).
    for guess in ("/t/a.b.json", "/t/..json"):
        resp = await client.get(guess)
        assert resp.status == 404 and resp.content_type == "application/json"
        assert (await resp.json())["error"]["code"] == "not_found"
    assert (await client.get("/t/a.b")).content_type == "text/html"  # the page keeps its HTML 404
