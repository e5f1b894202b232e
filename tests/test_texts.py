"""Citizen texts (gateway.texts) and the pages built on them: catalogues complete in nl, fr and en,
StrictUndefined everywhere, autoescape on the pages, a city's own templates checked at start-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import jinja2.meta
import pytest
from aiohttp.test_utils import TestClient

from gateway import texts
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.melding import Status, StatusChange
from tests.support.data import a_melding
from workers.notify import render_email
from workers.sms import render_sms

AT = datetime(2026, 3, 4, 10, 5, tzinfo=UTC)


def test_every_status_has_a_label_in_every_language() -> None:
    assert texts.LANGUAGES == ("nl", "fr", "en")
    for lang in texts.LANGUAGES:
        labels = [texts.status_label(status, lang) for status in Status]
        assert all(label.strip() for label in labels), lang
        assert len(set(labels)) == len(Status), f"two statuses read the same in {lang}"
    assert texts.status_label(Status.WACHTEN_OP_ANTWOORD, "nl") == "Wachten op antwoord"
    assert texts.status_label("gepland", "fr") == "Planifié"
    assert texts.status_label(Status.BEHANDELD, "en") == "Resolved"


def test_no_catalogue_has_a_key_the_others_miss() -> None:
    keys = {lang: set(catalogue) for lang, catalogue in texts.CATALOGUES.items()}
    assert keys["nl"] == keys["fr"] == keys["en"]
    assert {f"status.{s.value}" for s in Status} <= keys["nl"]
    # and the check that runs at import says which file lacks what
    broken = {lang: dict(catalogue) for lang, catalogue in texts.CATALOGUES.items()}
    del broken["fr"]["sms.no_question"]
    with pytest.raises(texts.TextsError, match=r"fr/catalogue.toml lacks sms.no_question"):
        texts.check_catalogues(broken)
    del broken["en"]["status.gepland"]
    broken["fr"]["sms.no_question"] = "?"
    with pytest.raises(texts.TextsError, match=r"en/catalogue.toml lacks status.gepland"):
        texts.check_catalogues(broken)


def test_an_unknown_language_falls_back_to_dutch() -> None:
    assert texts.language("de") == texts.language(None) == "nl"
    assert texts.status_label(Status.GEPLAND, "de") == "Gepland"
    assert texts.text("tracking.history", None) == "Verloop"
    with pytest.raises(texts.TextsError, match="no text 'tracking.nope'"):
        texts.text("tracking.nope", "fr")


def test_a_missing_variable_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError, match="reference"):
        texts.text("tracking.heading", "nl")
    with pytest.raises(jinja2.UndefinedError):
        texts.render("status", "fr", reference="1777-2026-000123")  # no status, name, ...
    # the pages' environment too
    pages = aiohttp_jinja2.get_env(create_app(Settings()))
    with pytest.raises(jinja2.UndefinedError):
        pages.get_template("tracking.html").render(lang="nl")


def test_the_messages_use_only_the_variables_they_are_rendered_with() -> None:
    env = texts.environment()
    for lang in texts.LANGUAGES:
        for name, variables in texts.MESSAGES.items():
            source = (texts.HERE / lang / f"{name}.txt").read_text(encoding="utf-8")
            assert jinja2.meta.find_undeclared_variables(env.parse(source)) <= variables, (lang, name)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_notifications_in_french_and_english_take_the_labels_from_the_catalogue(
    lang: str, tmp_path: Path
) -> None:
    settings = Settings(public_url="https://meldpunt.example", email_address="meldpunt@stad.example")
    planned = StatusChange(
        status=Status.GEPLAND, at=AT, planned_date=date(2026, 12, 3), note="Ploeg komt.", source="worker"
    )
    forwarded = StatusChange(
        status=Status.NAAR_EXTERNE_PARTNER, at=AT, external_partner="Fluvius", source="case_system"
    )
    catalogue = texts.CATALOGUES[texts.language(lang)]
    mail = render_email(a_melding(lang, planned), planned, settings, tmp_path, "status")
    assert catalogue["status.gepland"] in mail["Subject"]
    body = mail.get_content()
    assert f": {catalogue['status.gepland']}." in body
    assert texts.text("notification.planned", lang, date="03/12/2026") in body
    assert catalogue["mail.greeting_name"] in body  # no name given
    sms = render_sms(a_melding(lang, forwarded), forwarded, settings, tmp_path, "sms.status")
    assert f'"{catalogue["status.naar_externe_partner"]}"' in sms
    assert texts.text("notification.partner", lang, partner="Fluvius") in sms
    question = StatusChange(status=Status.WACHTEN_OP_ANTWOORD, at=AT, source="case_system")
    sms = render_sms(a_melding(lang, question), question, settings, tmp_path, "sms.question")
    assert catalogue["sms.no_question"] in sms


def test_a_citys_own_template_wins_and_a_bad_one_stops_the_start(tmp_path: Path) -> None:
    own = tmp_path / "own"
    (own / "fr").mkdir(parents=True)
    (own / "README.md").write_text("notes", encoding="utf-8")
    (own / "fr" / "sms.ack.txt").write_text("Ville : {{ reference }} {{ tracking_url }}\n", encoding="utf-8")
    variables = {"reference": "R1", "tracking_url": "U"}
    assert texts.render("sms.ack", "fr", templates_dir=own, **variables) == "Ville : R1 U\n"
    assert texts.render("sms.ack", "en", templates_dir=own, **variables).startswith("Thank you for calling")
    cases = {
        "ack.nl.txt": ("Subject: $reference", r"Jinja2 files now.*move it to .*nl/ack\.txt"),
        "nl/ackk.txt": ("x", "not a message this gateway sends"),
        "de/ack.txt": ("x", "not a message this gateway sends"),
        "nl/status.txt": ("{{ reference", r"line 1: unexpected end of template"),
        "nl/sms.status.txt": ("{{ refrence }}", r"unknown variable refrence; sms.status is rendered with"),
    }
    for number, (name, (content, message)) in enumerate(cases.items()):
        bad = tmp_path / f"bad{number}"
        (bad / name).parent.mkdir(parents=True, exist_ok=True)
        (bad / name).write_text(content, encoding="utf-8")
        with pytest.raises(texts.TextsError, match=message):
            texts.environment(bad)
    assert texts.environment(tmp_path / "absent") is not None  # no directory, no overrides


async def test_the_tracking_page_escapes_what_the_reporter_wrote(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    # The page shows the street as the reporter wrote it (not in the register), never the text itself
    # (a reporter writes names and numbers in it): the hostile markup goes in both.
    hostile = 'Losse <script>alert("x")</script> & <b>gevaar</b>'
    body = {
        "text": f"Tegel {hostile}",
        "reporter": {"name": "An Peeters", "email": "an@example.be"},
        "location": {"street": hostile},
    }
    resp = await client.post("/api/v1/meldingen", json=body)
    assert resp.status == 202
    created = await resp.json()
    page = await client.get(created["tracking_url"].removeprefix(settings.public_url))
    html = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex">' in html
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;gevaar&lt;/b&gt;" in html
    assert "Tegel" not in html and "An Peeters" not in html
    assert f"<h1>Uw melding {created['reference']}</h1>" in html and "Ontvangen" in html
    gone = await client.get("/t/not-a-token")
    assert gone.status == 404 and gone.headers["Referrer-Policy"] == "no-referrer"
    assert "<p>Deze link is niet (meer) geldig.</p>" in await gone.text()
