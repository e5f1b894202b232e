"""Attachments are checked whole, not on their first bytes: a JPEG header followed by an ELF
binary (or a real photo with a program appended) is refused on every path that stores one; real
images and PDFs from the corpora still pass."""

from __future__ import annotations

import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gateway.attachments import content_refusal
from gateway.channels.email.parse import parse_mail
from tests.support.data import CORPORA

FIXTURES = CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments"
JPEG = (FIXTURES / "test.jpg").read_bytes()
ELF = Path(shutil.which("true") or "/bin/true").read_bytes()[:4096]
FAKE_JPEG = b"\xff\xd8\xff\xe0" + ELF  # the case
APPENDED = JPEG + ELF  # a valid photo carrying a program


@pytest.mark.parametrize(
    ("name", "ctype"),
    [("test.jpg", "image/jpeg"), ("test.png", "image/png"), ("test.pdf", "application/pdf")],
)
def test_real_files_from_the_corpora_pass(name: str, ctype: str) -> None:
    assert content_refusal((FIXTURES / name).read_bytes(), ctype) is None


@pytest.mark.parametrize("data", [FAKE_JPEG, APPENDED, b"\xff\xd8\xff\xe0" + b"\x00" * 100])
def test_a_jpeg_that_is_not_a_whole_jpeg_is_refused(data: bytes) -> None:
    assert content_refusal(data, "image/jpeg") is not None


def test_email_attachment_with_an_elf_inside_is_refused_and_the_mail_kept() -> None:
    msg = EmailMessage()
    msg["From"] = "Jan Peeters <jan.peeters@telenet.be>"
    msg["To"] = "1777@kortrijk.be"
    msg["Subject"] = "Losliggende tegel"
    msg["Message-ID"] = "<elf-1@telenet.be>"
    msg.set_content("Er ligt een losliggende tegel op het voetpad voor nummer 12.")
    msg.add_attachment(FAKE_JPEG, maintype="image", subtype="jpeg", filename="foto.jpg")
    msg.add_attachment(APPENDED, maintype="image", subtype="jpeg", filename="foto2.jpg")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="tegel.jpg")
    parsed = parse_mail(msg.as_bytes())
    assert [a.filename for a in parsed.attachments] == ["tegel.jpg"]
    assert {r.filename for r in parsed.refused} == {"foto.jpg", "foto2.jpg"}
    assert all("executable" in r.reason for r in parsed.refused)
    assert "tegel" in parsed.text


@pytest.mark.parametrize("data", [FAKE_JPEG, APPENDED])
async def test_api_upload_with_an_elf_inside_is_refused(client: TestClient, data: bytes) -> None:
    form = FormData()
    form.add_field("text", "Sluikstort aan de glasbol in de Budastraat")
    form.add_field("photo", data, filename="foto.jpg", content_type="image/jpeg")
    resp = await client.post("/api/v1/meldingen", data=form)
    body = await resp.json()
    assert resp.status == 415, body
    assert body["error"]["code"] in ("attachment_content_refused", "attachment_content_mismatch")


async def test_api_upload_of_a_real_jpeg_is_accepted(client: TestClient) -> None:
    form = FormData()
    form.add_field("text", "Sluikstort aan de glasbol in de Budastraat")
    form.add_field("photo", JPEG, filename="foto.jpg", content_type="image/jpeg")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.json()
