"""The citizen form at `/` over HTTP: validation tied to fields, refused photos each named, the
honeypot, the per-IP rate limit, escaping, idempotency, languages; the same intake as the API.

The Chromium flows (with and without JavaScript, keyboard only, axe) are in test_web_form_browser.py,
the address suggestions in test_web_form_addresses.py.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.texts import text
from tests.support.api import api_get, store_of
from tests.support.data import ROOT
from tests.support.webform import BIG_PNG, PHOTO, SCRIPT, citizen_client, form_data, thanks_token

Client = TestClient[Any, Any]


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[Client]:
    on = settings.model_copy(update={"form_rate_limit": 5})
    async with citizen_client(create_app(on)) as c:
        yield c


async def count_meldingen(client: Client) -> int:
    listed = await (await api_get(client, "/api/v1/meldingen")).json()
    return len(listed["meldingen"])


def error_of(html: str, field: str) -> str:
    """The text of a field's error element, which its input points at with aria-describedby."""
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error shown for {field}"
    assert re.search(rf'aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"', html), field
    return re.sub(r"<[^>]+>", "", found[1])


def message_of(page: str, field: str, lang: str) -> str:
    """A field's one error message as a sighted reader sees it (the "Error:" for screen readers off)."""
    return error_of(html.unescape(page), field).removeprefix(text("form.error_prefix", lang) + " ")


async def test_the_form_is_served_in_the_browsers_language_and_switches(site: Client) -> None:
    french = await site.get("/", headers={"Accept-Language": "de-DE,fr-BE;q=0.8,en;q=0.5"})
    assert french.status == 200
    html = await french.text()
    assert '<html lang="fr">' in html and "Que voulez-vous signaler ?" in html
    assert "script-src 'self'" in french.headers["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the CSP would refuse it
    english = await (await site.get("/?lang=en", headers={"Accept-Language": "fr"})).text()
    assert '<html lang="en">' in english and 'href="/?lang=nl" lang="nl" hreflang="nl"' in english
    unknown = await (await site.get("/", headers={"Accept-Language": "de, es;q=0.5"})).text()
    assert '<html lang="nl">' in unknown


async def test_a_plain_post_is_a_melding_of_the_web_channel_and_redirects_to_thanks(site: Client) -> None:
    data = form_data(
        description="Losse stoeptegel voor nummer 12.",
        address="Budastraat 12, 8500 Kortrijk",
        street="Budastraat",
        house_number="12",
        postcode="8500",
        lat="50.831331",
        lon="3.2652",
        reporter_name="An",
        reporter_email="an@example.be",
        reporter_phone="0470 12 34 56",
        feedback="sms",
        lang="fr",
        photos=[PHOTO],
    )
    answer = await site.post("/", data=data, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    token = thanks_token(answer.headers["Location"])
    listed = (await (await api_get(site, "/api/v1/meldingen")).json())["meldingen"]
    assert len(listed) == 1
    melding = listed[0]
    assert melding["channel"] == "web" and melding["language"] == "fr"
    assert melding["reporter"] == {
        "name": "An",
        "email": "an@example.be",
        "phone": "+32470123456",
        "feedback": "sms",
    }
    assert melding["location"]["street"] == "Budastraat" and melding["location"]["lat"] == 50.831331
    assert [a["filename"] for a in melding["attachments"]] == ["stoeptegel.jpg"]
    assert melding["tracking_url"].endswith(f"/t/{token}")
    thanks = await site.get(f"/bedankt/{token}")
    page = await thanks.text()
    assert thanks.status == 200 and '<html lang="fr">' in page
    assert melding["reference"] in page and f'href="/t/{token}"' in page
    assert thanks.headers["Referrer-Policy"] == "no-referrer"


async def test_the_feedback_choice_is_stored_and_kept_with_the_raw_form(
    site: Client, settings: Settings
) -> None:
    data = form_data(description="Lamp brandt niet", reporter_phone="0470123456", feedback="sms")
    answer = await site.post("/", data=data, allow_redirects=False)
    assert answer.status == 303
    store = store_of(site)
    rows = await store.read(
        lambda conn: conn.exec_driver_sql("SELECT raw, reporter_feedback FROM meldingen").all()
    )
    assert json.loads(rows[0][0])["form"] == {"feedback": "sms"}
    assert rows[0][1] == "sms"  # the choice the notification rules read (workers/notify.py)


async def test_errors_are_tied_to_their_fields_and_what_was_typed_comes_back(site: Client) -> None:
    data = form_data(
        description="   ",
        address="Grote Markt",
        reporter_name="An",
        reporter_email="an-at-example",
        feedback="sms",
        lang="nl",
    )
    answer = await site.post("/", data=data)
    html = await answer.text()
    assert answer.status == 422
    assert "Beschrijf wat u wilt melden." in error_of(html, "description")
    assert "gsm-nummer" in error_of(html, "reporter_phone")
    assert "e-mail" in error_of(html, "reporter_email")
    # The summary lists them, each a link to its field, and takes the focus.
    summary = re.search(r'<div id="error-summary"[^>]*role="alert"[^>]*autofocus>(.*?)</div>', html, re.S)
    assert summary and 'href="#description"' in summary[1] and 'href="#reporter_phone"' in summary[1]
    assert 'value="Grote Markt"' in html and 'value="An"' in html and 'value="an-at-example"' in html
    assert 'id="feedback-sms" name="feedback" value="sms" checked' in html
    assert await count_meldingen(site) == 0


async def test_sms_feedback_needs_a_mobile_number_and_email_feedback_an_address(site: Client) -> None:
    landline = await site.post(
        "/", data=form_data(description="Put", reporter_phone="056 27 77 77", feedback="sms")
    )
    assert landline.status == 422
    assert "gsm-nummer" in error_of(await landline.text(), "reporter_phone")
    no_mail = await site.post("/", data=form_data(description="Put", feedback="email"))
    assert no_mail.status == 422 and "e-mailadres" in error_of(await no_mail.text(), "reporter_email")
    nonsense = await site.post("/", data=form_data(description="Put", reporter_phone="bel me maar"))
    assert nonsense.status == 422 and "telefoonnummer" in error_of(await nonsense.text(), "reporter_phone")
    assert await count_meldingen(site) == 0


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
async def test_every_field_error_is_told_at_once_in_the_pages_language(site: Client, lang: str) -> None:
    data = form_data(
        description="Losse tegel",
        reporter_name="A" * 201,
        reporter_email="pas-un-email",
        lat="abc",
        lon="3.26",
        lang=lang,
    )
    answer = await site.post("/", data=data)
    page = await answer.text()
    assert answer.status == 422
    assert message_of(page, "reporter_name", lang) == text("form.error.name_too_long", lang, max=200)
    assert message_of(page, "reporter_email", lang) == text("form.error.email_invalid", lang)
    assert message_of(page, "address", lang) == text("form.error.place_invalid", lang)
    for english in ("Value error", "String should", "unable to parse", "reporter.email"):
        assert english not in html.unescape(page), english


async def test_each_limit_of_a_field_has_its_own_message(site: Client) -> None:
    for fields, field, expected in (
        (
            {"reporter_email": "a" * 310 + "@example.be"},
            "reporter_email",
            text("form.error.email_too_long", "fr", max=320),
        ),
        ({"address": "Grote Markt " * 42}, "address", text("form.error.address_too_long", "fr", max=500)),
        ({"postcode": "8500" * 3}, "address", text("form.error.place_invalid", "fr")),
        ({"lat": "50.8", "lon": "999"}, "address", text("form.error.place_invalid", "fr")),
        ({"lat": "nan"}, "address", text("form.error.place_invalid", "fr")),
    ):
        answer = await site.post("/", data=form_data(description="Graffiti", lang="fr", **fields))
        assert answer.status == 422, fields
        assert message_of(await answer.text(), field, "fr") == expected, fields
    assert await count_meldingen(site) == 0
    # The JSON API keeps its own error body, which names the field for a program.
    api = await site.post(
        "/api/v1/meldingen", json={"text": "Graffiti", "reporter": {"email": "pas-un-email"}}
    )
    assert (
        api.status == 422
        and "reporter.email is not an e-mail address" in (await api.json())["error"]["message"]
    )


async def test_the_inputs_that_have_a_limit_say_it(site: Client, settings: Settings) -> None:
    page = await (await site.get("/")).text()
    for tag, field, most in (
        ("textarea", "description", settings.max_text_chars),
        ("input", "address", 500),
        ("input", "reporter_name", 200),
        ("input", "reporter_email", 320),
        ("input", "reporter_phone", 40),
    ):
        element = re.search(rf'<{tag}[^>]* id="{field}"[^>]*>', page)
        assert element and f'maxlength="{most}"' in element[0], field


async def test_a_description_at_its_limit_counts_each_line_break_once(
    site: Client, settings: Settings
) -> None:
    lines = "Losse tegel\r\n" * (settings.max_text_chars // 12)
    text_at_limit = lines + "x" * (settings.max_text_chars - len(lines.replace("\r\n", "\n")))
    answer = await site.post("/", data=form_data(description=text_at_limit), allow_redirects=False)
    assert answer.status == 303, error_of(await answer.text(), "description")


async def test_every_refused_photo_is_named_and_nothing_is_stored(site: Client) -> None:
    fake_jpeg = ("vakantie.jpg", b"this is no picture at all", "image/jpeg")
    text_file = ("notities.txt", b"plain text", "text/plain")
    big = ("groot.png", BIG_PNG.read_bytes(), "image/png")  # over the tests' 16 kB per file
    data = form_data(description="Sluikstort", lang="en", photos=[PHOTO, fake_jpeg, text_file, big])
    answer = await site.post("/", data=data)
    html = await answer.text()
    assert answer.status == 422
    refused = error_of(html, "photos")
    assert "vakantie.jpg is not a photo or PDF we accept" in refused
    assert "notities.txt is not a photo or PDF we accept" in refused
    assert "groot.png is too large: at most 16 kB per file" in refused
    assert "stoeptegel.jpg" not in refused
    assert "Sluikstort" in html  # the description is kept
    assert await count_meldingen(site) == 0


async def test_too_many_photos_is_one_clear_error(site: Client, settings: Settings) -> None:
    data = form_data(description="Graffiti", lang="en", photos=[PHOTO] * (settings.max_attachments + 1))
    answer = await site.post("/", data=data)
    assert answer.status == 422
    assert f"At most {settings.max_attachments} photos" in error_of(await answer.text(), "photos")


async def test_a_filled_honeypot_is_refused_clearly_and_stores_nothing(
    site: Client, caplog: pytest.LogCaptureFixture
) -> None:
    data = form_data(description="Goedkope horloges", website="http://spam.example", lang="en")
    with caplog.at_level(logging.INFO, logger="gateway.http.form"):
        answer = await site.post("/", data=data)
    html = await answer.text()
    assert answer.status == 422
    assert "looks filled in automatically and was not sent" in html
    assert "spam.example" not in html  # sent back empty: a person's next try passes
    assert "Goedkope horloges" in html
    assert any("honeypot" in r.getMessage() for r in caplog.records)
    assert await count_meldingen(site) == 0
    again = await site.post(
        "/", data=form_data(description="Goedkope horloges", lang="en"), allow_redirects=False
    )
    assert again.status == 303


# 10:45 in Kortrijk (UTC+1 in March): the form's counter starts again at 11:00, in 900 s.
QUARTER_TO_ELEVEN = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)


async def test_more_forms_than_the_limit_from_one_address_get_429(
    site: Client, clock: time_machine.Traveller
) -> None:
    clock.move_to(QUARTER_TO_ELEVEN, tick=False)
    for n in range(5):
        answer = await site.post("/", data=form_data(description=f"Melding {n}"), allow_redirects=False)
        assert answer.status == 303
    limited = await site.post(
        "/", data=form_data(description="Nog een", lang="en"), headers={"Accept-Language": "en"}
    )
    assert limited.status == 429 and limited.headers["Retry-After"] == "900"
    assert text("limited.heading", "en") in await limited.text()
    as_json = await site.post(
        "/", data=form_data(description="En nog"), headers={"Accept": "application/json"}
    )
    assert as_json.status == 429 and as_json.headers["Retry-After"] == "900"
    assert (await as_json.json())["error"]["code"] == "rate_limited"
    assert await count_meldingen(site) == 5
    assert (await site.get("/")).status == 200  # reading the form is never limited


async def test_the_limit_page_is_in_the_forms_language_and_says_truly_what_was_counted_and_until_when(
    site: Client, clock: time_machine.Traveller
) -> None:
    clock.move_to(QUARTER_TO_ELEVEN + timedelta(minutes=14, seconds=30), tick=False)  # 10:59:30
    for _ in range(5):  # refused attempts count as well: the limiter counts every POST
        assert (await site.post("/", data=form_data(description="  ", lang="fr"))).status == 422
    for lang, body in (("fr", form_data(description="Encore", lang="fr")), ("en", FormData({"lang": "en"}))):
        limited = await site.post("/", data=body, headers={"Accept-Language": "nl-BE, nl"})
        page = html.unescape(await limited.text())
        assert limited.status == 429 and limited.headers["Retry-After"] == "30", lang
        assert f'<html lang="{lang}">' in page  # the language posted with the form, not the browser's
        assert text("limited.text", lang, limit=5, time="11:00") in page
    # The counter starts again when Retry-After said it would.
    clock.move_to(QUARTER_TO_ELEVEN + timedelta(minutes=15), tick=False)
    answer = await site.post("/", data=form_data(description="Losse tegel"), allow_redirects=False)
    assert answer.status == 303


async def test_behind_a_proxy_each_citizen_has_a_limit_of_their_own(settings: Settings) -> None:
    on = settings.model_copy(update={"form_rate_limit": 1, "forwarded_for_hops": 1})
    async with TestClient(TestServer(create_app(on))) as site:

        async def post_from(chain: str) -> int:
            data = form_data(description="Kapotte lamp")
            answer = await site.post(
                "/", data=data, headers={"X-Forwarded-For": chain}, allow_redirects=False
            )
            return answer.status

        assert await post_from("203.0.113.7") == 303
        assert await post_from("203.0.113.7") == 429
        assert await post_from("198.51.100.4") == 303
        # What the client wrote left of the proxy's entry is not who it is.
        assert await post_from("192.0.2.1, 203.0.113.7") == 429


async def test_script_in_the_description_is_escaped_on_every_page(site: Client) -> None:
    rejected = await site.post("/", data=form_data(description=SCRIPT, feedback="email"))
    assert rejected.status == 422
    assert "<script>" not in await rejected.text()
    answer = await site.post("/", data=form_data(description=SCRIPT, address=SCRIPT), allow_redirects=False)
    token = thanks_token(answer.headers["Location"])
    thanks = await (await site.get(f"/bedankt/{token}")).text()
    assert "<script>" not in thanks and "&lt;script&gt;" in thanks
    # The tracking page shows neither the text nor an address the register does not know (issue 12:
    # no personal data there); test_texts checks its escaping of a street it does show.
    tracking = await (await site.get(f"/t/{token}")).text()
    assert "<script>" not in tracking


async def test_a_double_submit_is_one_melding(site: Client) -> None:
    key = "0123456789abcdef0123456789abcdef"
    first = await site.post(
        "/", data=form_data(description="Boom omgewaaid", submission=key), allow_redirects=False
    )
    second = await site.post(
        "/", data=form_data(description="Boom omgewaaid", submission=key), allow_redirects=False
    )
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    # The same key with other content (the back button, an edit): a melding of its own.
    edited = await site.post(
        "/", data=form_data(description="Twee bomen omgewaaid", submission=key), allow_redirects=False
    )
    assert edited.status == 303 and edited.headers["Location"] != first.headers["Location"]
    assert await count_meldingen(site) == 2


async def test_the_thanks_page_of_an_unknown_token_is_404(site: Client) -> None:
    answer = await site.get("/bedankt/no-such-token")
    assert answer.status == 404
    assert "link" in (await answer.text()).lower()


async def test_without_a_tile_url_there_is_no_map_and_the_form_still_works(settings: Settings) -> None:
    async with TestClient(TestServer(create_app(settings.model_copy(update={"map_tile_url": ""})))) as site:
        html = await (await site.get("/")).text()
        assert 'id="map-block"' not in html and "leaflet.js" not in html
        assert 'id="address"' in html
        answer = await site.post("/", data=form_data(description="Put in de weg"), allow_redirects=False)
        assert answer.status == 303


async def test_form_js_and_leaflet_are_served_by_the_gateway(site: Client) -> None:
    for path, kind in (
        ("/static/form.js", "javascript"),
        ("/static/vendor/leaflet/leaflet.js", "javascript"),
        ("/static/vendor/leaflet/leaflet.css", "css"),
        ("/static/vendor/leaflet/images/marker-icon.png", "png"),
    ):
        answer = await site.get(path)
        assert answer.status == 200 and kind in answer.headers["Content-Type"], path
    assert (ROOT / "gateway/http/static/vendor/leaflet/LICENSE").read_text().startswith("BSD 2-Clause")


async def test_a_body_that_is_no_form_is_told_so(site: Client) -> None:
    answer = await site.post("/", data=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status == 422
    assert "niet goed aan" in await answer.text()


async def test_a_plain_urlencoded_post_works_too(site: Client) -> None:
    body = FormData({"description": "Zwerfvuil aan de Leie", "lang": "en", "feedback": "none"})
    answer = await site.post("/", data=body, allow_redirects=False)
    assert answer.status == 303


async def test_a_body_over_the_limit_is_cut_off_with_a_message_and_the_text_kept(site: Client) -> None:
    big = ("groot.png", BIG_PNG.read_bytes(), "image/png")  # 3 x 30 kB: the tests' max_body_bytes is 64 kB
    data = form_data(description="Zwerfvuil bij de brug", lang="en", photos=[big] * 3)
    answer = await site.post("/", data=data)
    html = await answer.text()
    assert answer.status == 422
    assert "too large in total (at most 64 kB)" in error_of(html, "photos")
    assert "Zwerfvuil bij de brug" in html
    assert await count_meldingen(site) == 0


async def test_the_form_logs_no_personal_data(site: Client, caplog: pytest.LogCaptureFixture) -> None:
    details = {
        "description": "Kapotte bank bij de flamingovijver",
        "reporter_name": "Zebedeus Quaxelmann",
        "reporter_email": "zebedeus.quaxelmann@example.be",
        "reporter_phone": "0470 55 50 17",
    }
    with caplog.at_level(logging.DEBUG):
        await site.post("/", data=form_data(**details, website="spam"))  # refused: the honeypot
        await site.post("/", data=form_data(**details, feedback="nonsense"))  # refused: a field
        answer = await site.post("/", data=form_data(**details), allow_redirects=False)
        assert answer.status == 303
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records)
    for secret in ("flamingo", "Zebedeus", "Quaxelmann", "quaxelmann@", "555017", "55 50 17"):
        assert secret not in logged, secret
