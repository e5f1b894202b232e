"""Whole-file checks beyond the common images: a PDF must parse whole with pypdf and carry nothing
that runs (JavaScript, a Launch action, an embedded file); a HEIC must decode whole (pillow-heif);
any type without such a check is refused. Real tiny files from tests/data/attachments (SOURCE.txt),
and the same files with an ELF program appended, on the three paths that store files: the API
(415 saying why, nothing stored), e-mail and MMS (the file refused with its reason recorded, the
melding kept)."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from gateway.attachments import content_refusal
from gateway.channels.email.service import mail_intake
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import media as media_store
from gateway.store import meldingen
from gateway.store.schema import inbound_messages
from tests.support.api import store_of
from tests.support.data import ROOT
from tests.support.mail import attachment_mail
from tests.support.sms import REFERENCE, message
from tests.support.sms import post as post_sms
from tests.support.twilio import FakeTwilio, jpeg, pdf, png, twilio_settings
from tests.support.worker import run_worker

DATA = ROOT / "tests/data/attachments"
PDF = (DATA / "tiny.pdf").read_bytes()
HEIC = (DATA / "tiny.heic").read_bytes()
ELF = Path(shutil.which("true") or "/bin/true").read_bytes()[:4096]
ACTIVE_PDFS = {
    "javascript.pdf": "JavaScript",
    "launch.pdf": "Launch action",
    "embedded-file.pdf": "embedded file",
}


# -- the checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ctype"), [(PDF, "application/pdf"), (pdf(), "application/pdf"), (HEIC, "image/heic")]
)
def test_real_tiny_files_pass(data: bytes, ctype: str) -> None:
    assert content_refusal(data, ctype) is None


@pytest.mark.parametrize(("name", "what"), sorted(ACTIVE_PDFS.items()))
def test_a_pdf_that_runs_something_is_refused_and_says_what(name: str, what: str) -> None:
    reason = content_refusal((DATA / name).read_bytes(), "application/pdf")
    assert reason is not None and what in reason


@pytest.mark.parametrize(
    ("data", "ctype", "why"),
    [
        (PDF + ELF, "application/pdf", "executable"),
        (PDF[:200] + ELF + PDF[200:], "application/pdf", "executable"),
        (HEIC + ELF, "image/heic", "executable"),
        (HEIC[:200], "image/heic", "not a valid HEIC"),
        (HEIC[:24] + b"\x00" * 400, "image/heic", "not a valid HEIC"),
        (PDF[:150] + b"garbage" * 10 + b"\n%%EOF\n", "application/pdf", "not a valid PDF"),
        (b"%PDF-1.7\n%%EOF\n", "application/pdf", "not a valid PDF"),
        (PDF[:-30], "application/pdf", "not a complete PDF"),
        (b"plain text", "text/plain", "no whole-file check"),
    ],
)
def test_broken_or_carrying_files_are_refused(data: bytes, ctype: str, why: str) -> None:
    reason = content_refusal(data, ctype)
    assert reason is not None and why in reason, reason


# -- the API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ctype", "code"),
    [
        (HEIC, "image/heic", None),
        (PDF, "application/pdf", None),
        (HEIC + ELF, "image/heic", "attachment_content_refused"),
        (PDF + ELF, "application/pdf", "attachment_content_refused"),
        ((DATA / "javascript.pdf").read_bytes(), "application/pdf", "attachment_content_refused"),
    ],
)
async def test_api_upload(
    client: TestClient[Any, Any], settings: Settings, data: bytes, ctype: str, code: str | None
) -> None:
    form = FormData()
    form.add_field("text", "Sluikstort aan de glasbol in de Budastraat")
    form.add_field("photo", data, filename="bijlage", content_type=ctype)
    resp = await client.post("/api/v1/meldingen", data=form)
    body = await resp.json()
    if code is None:
        assert resp.status == 202, body
        return
    assert resp.status == 415 and body["error"]["code"] == code, body
    assert body["error"]["message"]  # says why
    assert not [p for p in settings.attachments_dir.rglob("*") if p.is_file()]  # nothing stored


# -- e-mail -------------------------------------------------------------------------------------------


async def test_email_keeps_the_melding_and_records_why_each_file_was_refused(
    client: TestClient[Any, Any],
) -> None:
    mail = attachment_mail(b"foto.heic", HEIC + ELF, b"image/heic")
    outcome = await mail_intake(client.app).accept(mail, envelope_from="an@example.be", source="smtp")
    assert outcome.kind == "melding"
    melding = await store_of(client).read(meldingen.by_reference, outcome.reference)
    assert melding is not None and melding.attachments == [] and "Sluikstort" in melding.text
    [record] = await store_of(client).read(lambda conn: list(conn.execute(select(inbound_messages))))
    [refused] = record.details["refused"]
    assert refused["filename"] == "foto.heic" and "executable" in refused["reason"]


@pytest.mark.parametrize(("name", "what"), sorted(ACTIVE_PDFS.items()))
async def test_email_pdf_that_runs_something(client: TestClient[Any, Any], name: str, what: str) -> None:
    mail = attachment_mail(name.encode(), (DATA / name).read_bytes(), b"application/pdf")
    outcome = await mail_intake(client.app).accept(mail, envelope_from="an@example.be", source="smtp")
    assert outcome.kind == "melding"
    [record] = await store_of(client).read(lambda conn: list(conn.execute(select(inbound_messages))))
    [refused] = record.details["refused"]
    assert what in refused["reason"]


async def test_email_with_a_real_heic_and_pdf_keeps_them(client: TestClient[Any, Any]) -> None:
    for name, data, ctype in ((b"foto.heic", HEIC, b"image/heic"), (b"plan.pdf", PDF, b"application/pdf")):
        mail = attachment_mail(name, data, ctype)
        outcome = await mail_intake(client.app).accept(mail, envelope_from="an@example.be", source="smtp")
        melding = await store_of(client).read(meldingen.by_reference, outcome.reference)
        assert melding is not None and [a.filename for a in melding.attachments] == [name.decode()]


# -- MMS ----------------------------------------------------------------------------------------------


@pytest.fixture
def mms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return twilio_settings(settings, twilio)


@pytest.fixture
async def app(mms_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(mms_settings))) as c:
        yield c


async def test_mms_media_carrying_a_program_fail_with_the_reason_and_the_melding_goes(
    app: TestClient[Any, Any], mms_settings: Settings, twilio: FakeTwilio
) -> None:
    files = [
        (HEIC, "image/heic"),
        (HEIC + ELF, "image/heic"),
        (PDF + ELF, "application/pdf"),
        ((DATA / "launch.pdf").read_bytes(), "application/pdf"),
    ]
    extra = {"NumMedia": str(len(files))}
    for n, (data, ctype) in enumerate(files):
        extra[f"MediaUrl{n}"] = twilio.media_url("MM900", twilio.add_media(data, ctype))
        extra[f"MediaContentType{n}"] = ctype
    resp = await post_sms(app, message("MM900", "Sluikstort aan de glasbol, zie foto", **extra))
    reference = REFERENCE.search(await resp.text()).group(0)  # type: ignore[union-attr]
    await run_worker(mms_settings)
    melding = await store_of(app).read(meldingen.by_reference, reference)
    assert melding is not None and len(melding.attachments) == 1  # the real HEIC
    records = await store_of(app).read(media_store.media_of, melding.id)
    assert [r.state for r in records] == ["stored", "failed", "failed", "failed"]
    assert "executable" in (records[1].error or "") and "executable" in (records[2].error or "")
    assert "Launch action" in (records[3].error or "")
    assert all(r.attempts == 1 for r in records[1:])  # refused for good, not retried


# -- mutated files: a refusal, never an exception (that would be a 500 on the API) -------------------


def _pillow(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (20, 120, 220)).save(out, fmt)
    return out.getvalue()


SAMPLES = [
    (PDF, "application/pdf"),
    ((DATA / "embedded-file.pdf").read_bytes(), "application/pdf"),
    (HEIC, "image/heic"),
    (jpeg(), "image/jpeg"),
    (png(), "image/png"),
    (_pillow("GIF"), "image/gif"),
    (_pillow("WEBP"), "image/webp"),
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sample=st.sampled_from(SAMPLES),
    cuts=st.lists(
        st.tuples(st.floats(0, 1), st.binary(max_size=12), st.integers(0, 12)), min_size=1, max_size=4
    ),
)
def test_mutated_files_are_refused_or_passed_never_raise(
    sample: tuple[bytes, str], cuts: list[tuple[float, bytes, int]]
) -> None:
    data, ctype = sample
    for where, insert, drop in cuts:  # overwrite, insert or cut bytes anywhere
        at = int(len(data) * where)
        data = data[:at] + insert + data[at + drop :]
    assert isinstance(content_refusal(data, ctype) or "", str)
