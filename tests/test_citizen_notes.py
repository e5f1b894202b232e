"""Which status notes a reporter reads: one rule (`StatusChange.citizen_note`) for every place a
status reaches them: mails, SMS, the tracking page and the citizen portals (Open311, which is public,
the case system's notes alone). The gateway's
own bookkeeping (a duplicate link, "answered at once", a reply received) stays the desk's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.channels.open311.requests import status_notes
from gateway.config import Settings, StatusFeed
from gateway.melding import Status, StatusChange, link_note
from tests.support.data import a_melding
from workers.notify import render_email
from workers.sms import render_sms
from workers.status_feeds.adapters import DosisFeed, Dossier

AT = datetime(2026, 3, 4, 10, 5, tzinfo=UTC)
LINK = link_note("1777-2026-000001")


def change(source: str, note: str | None, status: Status = Status.GEREGISTREERD) -> StatusChange:
    return StatusChange(status=status, at=AT, note=note, source=source)


@pytest.mark.parametrize(
    ("source", "note", "read"),
    [
        ("case_system", "Lamp wordt vervangen", "Lamp wordt vervangen"),
        ("desk", "Om welk adres gaat het?", "Om welk adres gaat het?"),
        ("desk:ann", "We komen morgen kijken", "We komen morgen kijken"),
        ("worker", LINK, None),
        ("desk:ann", LINK, None),  # a link the desk confirmed is bookkeeping all the same
        ("intake", "answered at once by the 1777 desk", None),
        ("reporter", "Reactie van de melder ontvangen", None),
        ("case_system", None, None),
    ],
)
def test_only_notes_written_for_the_reporter_reach_them(
    source: str, note: str | None, read: str | None
) -> None:
    c = change(source, note)
    assert c.citizen_note == read
    assert c.links_duplicate == (note == LINK)
    public = read if source == "case_system" else None  # Open311's GET needs no key: not the desk's
    assert status_notes(a_melding("fr", c)) == ("Enregistré" + (f": {public}" if public else ""))


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
def test_a_duplicate_link_is_told_in_the_reporters_language_by_mail_and_sms(
    lang: str, tmp_path: Path
) -> None:
    settings = Settings(public_url="https://meldpunt.example", email_address="meldpunt@stad.example")
    linked = change("desk:ann", LINK)
    body = render_email(a_melding(lang, linked), linked, settings, tmp_path).get_content()
    sms = render_sms(a_melding(lang, linked), linked, settings, tmp_path, "sms.status")
    said = {
        "nl": "Dit probleem werd al eerder gemeld",
        "fr": "Ce problème avait déjà été signalé",
        "en": "This problem had already been reported",
    }[lang]
    for text in (body, sms):
        assert said in text
        assert "Gekoppeld" not in text and "1777-2026-000001" not in text


def test_the_portal_reads_what_the_tracking_page_shows() -> None:
    feed: Any = StatusFeed(
        name="burgerprofiel",
        kind="dosis",
        url="https://portal.example",
        token_url="https://portal.example/oauth/token",
        client_id="c",
        client_secret="s",
        source_uri="https://meldpunt.example",
        product_id="ipdc-1777",
    )
    for source, note, detail in [("worker", LINK, None), ("case_system", "Lamp vervangen", "Lamp vervangen")]:
        c = change(source, note)
        dossier = Dossier(a_melding("nl", c), c, "85073003328", "k", "https://meldpunt.example/t/tok")
        assert DosisFeed(feed, session=None).payload(dossier)["StatusDetail"] == detail  # type: ignore[arg-type]
