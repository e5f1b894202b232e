"""Paths and small payloads the tests read: the project root, the public corpora, a valid melding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.melding import Channel, Location, Melding, MeldingDraft, Reporter, Stage, StatusChange

ROOT = Path(__file__).resolve().parent.parent.parent
# Public corpora copied into the project (tests/corpora/README.md): a clone runs its tests alone.
CORPORA = ROOT / "tests" / "corpora"

# The meldpunt's own e-mail address (the SMTP channel accepts mail for it).
MELDPUNT = "1777@kortrijk.be"

# A real PNG from the corpora: attachments are decoded whole, a bare PNG signature is refused.
PNG = (CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments/test.png").read_bytes()

# A valid JSON melding that the rules route to wegen.
TILE = {
    "text": "Er ligt een losliggende tegel op het voetpad voor nummer 12.",
    "reporter": {"name": "An Peeters", "email": "an@example.be", "phone": "+32 470 12 34 56"},
    "location": {"street": "Budastraat", "house_number": "12", "postcode": "8500"},
}

# One street lamp reported twice: Loofstraat 61-63 by address, then by a web pin a few metres
# away (a real point, tests/corpora/kortrijk-addresses); the second is a duplicate of the first.
LAMP_TEXT = {
    "text": "De straatlamp voor ons huis brandt al drie dagen niet meer.",
    "reporter": {"name": "An Peeters", "email": "an@example.be"},
    "location": {"street": "Loofstraat", "house_number": "61", "postcode": "8500"},
}
LAMP_PIN = {
    "text": "Lamp kapot, het hele stuk straat is donker",
    "reporter": {"name": "Bert Maes", "email": "bert@example.be"},
    "location": {"lat": 50.81713, "lon": 3.26342},
}


def web_draft(n: int, email: str = "an@example.be") -> MeldingDraft:
    """The n-th of a run of distinct web meldingen from one reporter, as the store tests take them."""
    return MeldingDraft(
        channel=Channel.WEB,
        received_at=datetime.now(UTC),
        text=f"Losliggende tegel {n}",
        reporter=Reporter(email=email),
    )


def a_melding(language: str | None, change: StatusChange) -> Melding:
    """An SMS melding whose history is `change`, as notifications and status notes read it."""
    return Melding(
        id="m1",
        reference="1777-2026-000123",
        channel=Channel.SMS,
        received_at=change.at,
        reporter=Reporter(name=None, email="an@example.be", phone="+32470123456"),
        text="Put in de weg",
        language=language,
        location=Location(),
        status=change.status,
        stage=Stage.DELIVERED,
        status_history=[change],
        tracking_token="tok",
    )
