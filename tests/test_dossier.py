"""`gateway dossier`: one PDF with everything about a melding, for the ombudsman.

A melding is given a life through the store's own operations, as the channels, the worker, the
case system and the desk write it: a mail with a photo (and a HEIC one) and a PDF, the
classifier's undecided routing and the desk's decision, a delivery that failed twice and then got
through (each attempt logged as the worker logs it), a portal push that failed once, status
changes by the worker, a named operator and the case system, an acknowledgement and
notifications (one mail failed), SMS with their receipts (one delivered, one failed), the
reporter's reply with its own delivery that went dead, and a duplicate from another reporter.
The command runs as a subprocess (without Redis: its URL points nowhere) and the PDF's text is
read back with pypdf.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from gateway.attachments import AttachmentStore
from gateway.dossier import STAGES, html
from gateway.melding import (
    Channel,
    DeliveryState,
    MeldingDraft,
    Reporter,
    RoutingDecision,
    Stage,
    Status,
    StatusUpdate,
)
from gateway.store import Store, deliveries, desk, duplicates, history, inbound, notifications, pushes, sms
from gateway.store.attempts import Attempt
from gateway.store.dossier import Dossier, gather
from tests.support.data import ROOT

GATEWAY = Path(sys.executable).parent / "gateway"
TZ = ZoneInfo("Europe/Brussels")
HEIC = (ROOT / "tests" / "data" / "attachments" / "tiny.heic").read_bytes()
PDF = (ROOT / "tests" / "data" / "attachments" / "tiny.pdf").read_bytes()
# Citizen text is untrusted: markup, bidi overrides, zero-width and combining characters, emoji.
HOSTILE = (
    "Tegel los <script>alert('dossier')</script> <b>vet</b> &amp; "
    "\u202eGNIRTS\u202c \u200bnul\u200dbreedte e\u0301e\u0301n \U0001f6a7 werkzaamheden"
)
LONG_WORD = "x" * 20_000  # one run without a space: must wrap, not leave the page
PORTAL_ERROR = "feed burgerprofiel: HTTP 502: bad gateway"
# The first delivery's tries as the worker logs them: (outcome, HTTP status, error, case id).
CREATED_TRIES = [
    ("transient", 503, "HTTP 503 from the case system: onderhoud", None),
    ("transient", None, "timed out after 10.0s", None),
    ("ok", None, None, "CASE-4711"),
]


def photo_jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (1200, 800), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def squash(text: str) -> str:
    """Without whitespace: table cells wrap long values (hashes, ids) wherever they must."""
    return re.sub(r"\s+", "", text)


def page_texts(reader: PdfReader) -> list[str]:
    """Each page's text. Where WeasyPrint encodes a large font subset with its own two-byte CMap,
    pypdf reads a NUL before each character of that font (poppler's pdftotext does not)."""
    return [page.extract_text().replace("\x00", "") for page in reader.pages]


def attempt_row(
    number: int, started: str, label: str, status: int | None, case_id: str | None, error: str | None
) -> re.Pattern[str]:
    """One attempt's row in the squashed text: number, start, duration, outcome, HTTP status, case
    id, error. An empty cell shows a dash, which pypdf reads back as one to three odd characters."""
    dash = r"[^0-9A-Za-z]{1,3}"
    parts = [
        re.escape(f"{number}{squash(started)}") + (r"CET" if started else r"[-0-9:]+CET"),
        r"[0-9.]+s",
        re.escape(squash(label)),
        re.escape(str(status)) if status else dash,
        re.escape(case_id) if case_id else dash,
        re.escape(squash(error or "")),
    ]
    return re.compile("".join(parts))


def local(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%d-%m-%Y %H:%M:%S")


@dataclass
class Life:
    reference: str
    melding_id: str
    duplicate_reference: str
    pdf_sha256: str
    photo_sha256: str


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store(database_url)
    await s.open(migrate_schema=True)
    yield s
    await s.close()


async def live_a_life(store: Store, files: AttachmentStore) -> Life:
    received = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    photo = files.save(photo_jpeg(), filename="tegel.jpg", content_type="image/jpeg")
    heic = files.save(HEIC, filename="iphone.heic", content_type="image/heic")
    pdf = files.save(PDF, filename="plan.pdf", content_type="application/pdf")
    draft = MeldingDraft(
        channel=Channel.EMAIL,
        external_id="first@mail.example.be",
        received_at=received,
        reporter=Reporter(name="An Peeters", email="an@example.be", phone="+32470123456"),
        subject="Losse tegel Budastraat",
        text=HOSTILE,
        language="nl",
    )
    record = {
        "channel": "email",
        "dedupe_key": "first@mail.example.be",
        "source": "smtp",
        "sender": "an@example.be",
        "subject": "Losse tegel Budastraat",
        "kind": "melding",
    }
    stored = await store.intake(draft, [photo, heic, pdf], inbound=record)
    mid = stored.id
    ack_id = stored.history_id
    await store.write(
        notifications.record,
        mid,
        ack_id,
        "email-ack",
        recipient="an@example.be",
        state="sent",
        detail="<ack.1777-2026@kortrijk.be>",
    )
    # The classifier is unsure: triage with its top three; then the desk routes it.
    undecided = RoutingDecision(
        None, 0.41, "model:2026-06-30", (("wegen", 0.41), ("groen", 0.33), ("info", 0.1))
    )
    await store.write(duplicates.route_dedupe, mid, undecided, located={})
    assert (await store.write(desk.route, mid, "wegen"))[0] == "routed"
    # ... and the worker routes it with the desk's dienst, as it keeps a dienst already chosen
    chosen = RoutingDecision("wegen", 1.0, desk.DESK, undecided.alternatives)
    pin = {"source": "pin", "confidence": 0.95, "detail": "coordinates from the form or app"}
    await store.write(duplicates.route_dedupe, mid, chosen, located={"located": pin})
    [created_id] = [d.id for d in await store.read(deliveries.in_states, [DeliveryState.PENDING])]
    for outcome, http_status, error, _ in CREATED_TRIES[:-1]:
        await store.write(
            deliveries.failed,
            created_id,
            error=error,
            dead=False,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=30),
            attempt=Attempt(datetime.now(UTC), outcome, http_status=http_status, error=error),
        )
    registered = await store.write(
        deliveries.succeeded,
        created_id,
        case_id="CASE-4711",
        stage=Stage.DELIVERED,
        first_status=Status.GEREGISTREERD,
        attempt=Attempt(datetime.now(UTC), "ok", case_id="CASE-4711"),
    )
    # Linked to a citizen: Geregistreerd goes to the portal, refused once, then accepted.
    await store.write(pushes.set_national_register_number, mid, "85073003328")
    [push] = await store.write(pushes.ensure, mid, registered, ["burgerprofiel"])
    await store.write(
        pushes.failed,
        push.id,
        error=PORTAL_ERROR,
        next_attempt_at=datetime.now(UTC),
        attempt=Attempt(datetime.now(UTC), "transient", http_status=502, error=PORTAL_ERROR),
    )
    await store.write(pushes.succeeded, push.id, attempt=Attempt(datetime.now(UTC), "ok"))
    await store.write(
        notifications.record,
        mid,
        registered,
        "email",
        recipient="an@example.be",
        state="sent",
        detail="<status.registered@kortrijk.be>",
    )
    # A named operator asks the reporter a question; the mail bounces, the SMS is delivered.
    question = await store.write(
        history.add_status,
        mid,
        StatusUpdate(Status.WACHTEN_OP_ANTWOORD, "desk:Els Martens", "Aan welk huisnummer?"),
    )
    await store.write(
        notifications.record,
        mid,
        question,
        "email",
        recipient="an@example.be",
        state="failed",
        detail="SMTP 550 mailbox unavailable",
    )
    sms_row = {
        "melding_id": mid,
        "history_id": question,
        "channel": "sms-question",
        "part": 1,
        "parts": 1,
        "recipient": "+32470123456",
        "body": "Meldpunt 1777: aan welk huisnummer ligt de tegel?",
    }
    await store.write(sms.record_sent, {"sid": "SM00000000000000000000000000000001", **sms_row})
    await store.write(sms.update_status, "SM00000000000000000000000000000001", "delivered", error_code=None)
    # The reporter answers by mail: a follow-up, back to in behandeling, its own delivery goes dead.
    added = await store.write(
        inbound.add_followup,
        mid,
        channel="email",
        external_id="reply@mail.example.be",
        received_at=received + timedelta(days=1),
        sender="an@example.be",
        text="Aan nummer 12, naast de brievenbus.",
        record={
            **record,
            "dedupe_key": "reply@mail.example.be",
            "subject": "Re: [1777] vraag",
            "kind": "followup",
            "melding_id": mid,
        },
    )
    assert added.delivery is not None
    refused = "HTTP 422 from the case system: onbekend dossier"
    await store.write(
        deliveries.failed,
        added.delivery.id,
        error=refused,
        dead=True,
        next_attempt_at=None,
        attempt=Attempt(datetime.now(UTC), "permanent", http_status=422, error=refused),
    )
    done = await store.write(
        history.add_status,
        mid,
        StatusUpdate(Status.BEHANDELD, "case_system", "Tegel teruggelegd door de ploeg"),
    )
    await store.write(
        sms.record_sent,
        {
            **sms_row,
            "sid": "SM00000000000000000000000000000002",
            "history_id": done,
            "channel": "sms",
            "body": "Meldpunt 1777: uw melding is behandeld.",
        },
    )
    await store.write(sms.update_status, "SM00000000000000000000000000000002", "failed", error_code=30005)
    # Another reporter of the same tile, by SMS, with a very long message.
    other = MeldingDraft(
        channel=Channel.SMS,
        external_id="SM-duplicate",
        received_at=received + timedelta(hours=3),
        reporter=Reporter(name="Jan Janssens", phone="+32499887766"),
        text="Losse tegel Budastraat 12 " + LONG_WORD,
    )
    dup = await store.intake(other)
    await store.write(
        duplicates.route_dedupe,
        dup.id,
        RoutingDecision("wegen", 0.9, "rule:wegen"),
        located={},
        duplicate_of=mid,
        duplicate_score=0.87,
        duplicate_reason="zelfde straat, zelfde probleem",
    )
    return Life(stored.reference, mid, dup.reference, pdf.sha256, photo.sha256)


def run_dossier(database_url: str, data_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens: the command must not need Redis
    }
    return subprocess.run(
        [str(GATEWAY), "dossier", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


async def test_dossier_holds_everything_about_a_melding(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    life = await live_a_life(store, AttachmentStore(data_dir / "attachments"))
    dossier: Dossier = await store.read(gather, life.reference)
    assert (await store.read(gather, life.melding_id)).melding.reference == life.reference  # by id too

    out = tmp_path / "out" / "dossier.pdf"
    out.parent.mkdir()
    done = run_dossier(database_url, data_dir, life.reference, "--out", str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    reader = PdfReader(out)
    assert re.search(
        rf"dossier {life.reference}: {len(reader.pages)} pages, {out.stat().st_size} bytes, {out}",
        done.stderr,
    ), done.stderr
    pages = page_texts(reader)
    text = squash("\n".join(pages))

    def shown(value: str) -> bool:
        return squash(value) in text

    # The reference and the page number on every page.
    for number, page in enumerate(pages, 1):
        assert life.reference in page and f"Pagina {number} van {len(pages)}" in page, page[:300]
    # Every history entry: when (local time), what, who, why.
    assert len(dossier.history) == 5
    for entry in dossier.history:
        assert shown(local(entry.change.at)), entry
        assert shown(entry.change.note or ""), entry
    for who in (
        "gateway (bij ontvangst)",
        "gateway (verwerking)",
        "1777-balie: Els Martens",
        "melder (reactie)",
        "dossiersysteem",
    ):
        assert shown(who), who
    for label in ("Ontvangen", "Geregistreerd", "Wachten op antwoord", "In behandeling", "Behandeld"):
        assert shown(label), label
    # Every message in and out, with its outcome.
    for message in (
        HOSTILE.split("\u202e")[0],  # the markup is shown as text
        "Aan nummer 12, naast de brievenbus.",
        "<ack.1777-2026@kortrijk.be>",
        "<status.registered@kortrijk.be>",
        "SMTP 550 mailbox unavailable",
        "Meldpunt 1777: aan welk huisnummer ligt de tegel?",
        "Meldpunt 1777: uw melding is behandeld.",
        "SM00000000000000000000000000000001",
        "delivered",
        "failed (fout 30005)",
        "Re: [1777] vraag",
        "first@mail.example.be",
        "reply@mail.example.be",
    ):
        assert shown(message), message
    # The routing: the classifier's proposal and the desk's decision.
    # in the staff's words: the diensten by name, where it was found by its Dutch fields
    assert shown("Dienst Publieke Ruimte") and shown("Beslist door 1777-balie (desk)")
    assert shown("Publieke Ruimte (0.41), Groendienst (0.33), Infopunt 1777 (0.10)")
    assert shown("Plaats gevonden bron: kaartpin; zekerheid: 0.95; uitleg (locator): coordinates from")
    assert shown(f"Verwerkingsfase {STAGES[dossier.melding.stage.value]} ({dossier.melding.stage.value})")
    # Every delivery with its attempts, the case id and the error of the dead one.
    assert [(d.event, d.state, d.attempts) for d in dossier.deliveries] == [
        ("melding.created", "delivered", 3),
        ("melding.followup", "dead", 1),
        ("melding.updated", "pending", 0),  # the duplicate's reporter, for the case system
    ]
    assert shown("melding.created delivered 3 CASE-4711") and shown(
        local(dossier.deliveries[0].first_failed_at)
    )
    assert shown("melding.followup dead 1") and shown("HTTP 422 from the case system: onbekend dossier")
    # ... and every attempt of each, in order, with its outcome, status and error or case id:
    # the first delivery's two failures and its success, the follow-up's refusal, the push's two.
    created = dossier.attempts_of_delivery(dossier.deliveries[0].id)
    assert [(a.attempt, a.outcome, a.http_status, a.error, a.case_id) for a in created] == [
        (n, *tried) for n, tried in enumerate(CREATED_TRIES, 1)
    ]
    followup = dossier.attempts_of_delivery(dossier.deliveries[1].id)
    labels = ["tijdelijk mislukt", "tijdelijk mislukt", "gelukt", "definitief geweigerd"]
    at = text.index("PogingBegonnenDuurUitkomstHTTPDossier-idFout")
    for a, label in zip([*created, *followup], labels, strict=True):  # each row, in order
        row = attempt_row(a.attempt, local(a.started_at), label, a.http_status, a.case_id, a.error)
        found = row.search(text, at)
        assert found, (a, text[at : at + 300])
        at = found.end()
    [push_row] = dossier.pushes
    assert (push_row.feed, push_row.state, push_row.attempts) == ("burgerprofiel", "delivered", 2)
    assert [(a.outcome, a.http_status, a.error) for a in dossier.attempts_of_push(push_row.id)] == [
        ("transient", 502, "feed burgerprofiel: HTTP 502: bad gateway"),
        ("ok", None, None),
    ]
    assert shown("burgerprofiel Geregistreerd delivered 2")
    push_tries = text[text.index("Burgerportalen") :]
    for n, (label, status, error) in enumerate(
        [("tijdelijk mislukt", 502, PORTAL_ERROR), ("gelukt", None, None)], 1
    ):
        assert attempt_row(n, "", label, status, None, error).search(push_tries), (n, label)
    # Both reporters, and the duplicate.
    for value in (
        "An Peeters",
        "an@example.be",
        "Jan Janssens",
        "+32499887766",
        life.duplicate_reference,
        "zelfde straat, zelfde probleem",
    ):
        assert shown(value), value
    # Attachments: photos embedded (the JPEG and the HEIC), the PDF listed with its hash.
    assert shown(f"plan.pdf application/pdf {len(PDF)} B {life.pdf_sha256}")
    assert shown(life.photo_sha256)
    # (WeasyPrint shares one resources dictionary between pages: each page lists both.)
    sizes = {(image.image.width, image.image.height) for page in reader.pages for image in page.images}
    assert sizes == {(900, 600), (16, 16)}  # the JPEG as a thumbnail, the HEIC converted
    # Untrusted text stays text: no script made it into the PDF.
    assert "/JavaScript" not in reader.trailer["/Root"] and "/OpenAction" not in reader.trailer["/Root"]


async def test_duplicate_dossier_in_the_current_directory(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    life = await live_a_life(store, AttachmentStore(data_dir / "attachments"))
    done = run_dossier(database_url, data_dir, life.duplicate_reference, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / f"{life.duplicate_reference}.pdf"
    text = squash("".join(page_texts(PdfReader(out))))
    # Its master is named, and the 20,000-character word is all there, wrapped over pages (their
    # running header and footer taken out).
    assert squash(f"een dubbel van {life.reference} (melder An Peeters), zekerheid 0.87") in text
    running = rf"Meldpunt1777—dossierMelding{life.duplicate_reference}|Opgemaakt[-0-9:]+CETPagina\d+van\d+"
    assert LONG_WORD in re.sub(running, "", text)


async def test_unknown_reference(store: Store, database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    done = run_dossier(database_url, tmp_path / "data", "1777-2026-999999", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 1
    assert "no melding with reference or id '1777-2026-999999'" in done.stderr
    assert not out.exists()


def test_an_out_that_cannot_be_written_is_said_before_any_work(tmp_path: Path) -> None:
    # used to end in a FileNotFoundError traceback, after reading the store and making the PDF
    for out, why in [
        (tmp_path / "nowhere" / "x.pdf", f"there is no directory '{tmp_path / 'nowhere'}'"),
        (tmp_path, "it is a directory"),
    ]:
        done = run_dossier(
            "sqlite:///unused.db", tmp_path, "1777-2026-000001", "--out", str(out), cwd=tmp_path
        )
        assert done.returncode == 1
        assert done.stderr == f"gateway dossier: cannot write '{out}': {why}; choose another --out\n"
    assert not (tmp_path / "unused.db").exists()  # the store was not even opened


async def test_photo_gone_or_undecodable_is_listed_with_why(store: Store, tmp_path: Path) -> None:
    files = AttachmentStore(tmp_path / "attachments")
    gone = files.save(photo_jpeg(), filename="weg.jpg", content_type="image/jpeg")
    broken = files.save(b"\x89PNG\r\n\x1a\n not really", filename="kapot.png", content_type="image/png")
    (files.root / gone.storage_path).unlink()  # as retention leaves it
    draft = MeldingDraft(channel=Channel.WEB, received_at=datetime.now(UTC), text="Twee foto's")
    stored = await store.intake(draft, [gone, broken])
    page = html(
        await store.read(gather, stored.reference),
        attachments_dir=files.root,
        timezone="Europe/Brussels",
        generated_at=datetime.now(UTC),
    )
    assert "weg.jpg" in page and "het bestand is niet (meer) op schijf" in page
    assert "kapot.png" in page and "kon niet worden getoond" in page
    assert "data:image" not in page
