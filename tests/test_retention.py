"""Retention: meldingen closed longer than `retention_days` lose their personal data, everywhere.

One store, three channels (API with photos, SMS, e-mail over SMTP with a photo), the real worker,
the real status callbacks; the clock is moved a year on (time-machine) and the retention job run
as `gateway retention --dry-run` and as the worker's daily job."""

from __future__ import annotations

import asyncio
import io
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import time_machine
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import Connection, func, select

from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.cli import main as gateway_main
from gateway.clock import now as gateway_now
from gateway.config import Settings
from gateway.retention import run_retention
from gateway.store import Store, directory, sms
from gateway.store.directory import LookupRecord
from gateway.store.retention import MARKER
from gateway.store.schema import directory_lookups, meldingen, metadata, status_history
from tests.support import sms as twilio_sms
from tests.support.api import api_get, store_of
from tests.support.data import MELDPUNT, PNG
from tests.support.faults import full_disk
from tests.support.http import free_port
from tests.support.worker import run_worker, worker_ctx
from workers.retention import retention as retention_job

# What identifies each closed melding's reporter; none of it may be left anywhere afterwards.
WEB_NAME, WEB_EMAIL, WEB_PHONE = "Zebedeus Quaxelmann", "zebedeus.quaxelmann@example.be", "+32 470 55 50 01"
WEB_TEXT = "Er ligt een losliggende tegel op het voetpad aan de flamingovijver van Quaxelmann."
SMS_NUMBER, SMS_TEXT = (
    "+32470555002",
    "Losliggende tegel op het voetpad bij de kwispelende giraf, Budastraat 4.",
)
MAIL_SENDER = "dorien.vandewalle@example.be"
MAIL_TEXT = "Rioolkolk verstopt in de Lange Steenstraat, de zwaaiende pinguin van Dorien staat in het water."
DESK_NOTE = "Mevrouw Vandewalle teruggebeld op haar gsm"
GONE = ("Zebedeus", "Quaxelmann", "quaxelmann", "555001", "555002", "555 0", "dorien", "Dorien", "Vandewalle",
        "flamingo", "giraf", "pinguin", "teruggebeld")  # fmt: skip


def other_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


HERE = {
    "street": "Budastraat",
    "house_number": "12",
    "postcode": "8500",
    "lat": "50.827345",
    "lon": "3.264567",
}


async def post_web(
    client: TestClient[Any, Any],
    *,
    name: str,
    email: str,
    phone: str,
    text: str,
    where: dict[str, str] = HERE,
) -> dict[str, Any]:
    form = aiohttp.FormData()
    for key, value in {
        "text": text,
        "reporter_name": name,
        "reporter_email": email,
        "reporter_phone": phone,
        **where,
    }.items():
        form.add_field(key, value)
    form.add_field("photo", PNG, filename="tegel.png", content_type="image/png")
    resp = await client.post("/api/v1/meldingen", data=form)
    assert resp.status == 202, await resp.text()
    return await resp.json()


def mail(sender: str, text: str, photo: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Dorien Vandewalle <{sender}>", MELDPUNT, "Tegel Dorien"
    msg["Message-ID"] = make_msgid(domain="example.be")
    msg.set_content(text)
    msg.add_attachment(photo, maintype="image", subtype="png", filename="pinguin.png")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def send_mail(port: int, raw: bytes, sender: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.be")
        assert smtp.sendmail(sender, [MELDPUNT], raw) == {}  # every recipient accepted


@pytest.fixture
async def smtp_port(every_channel: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    server = await start_smtp(settings, mail_intake(every_channel.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the whole store, to compare and to search)."""
    return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in metadata.sorted_tables}


def statistics(conn: Connection) -> dict[str, Any]:
    per = conn.execute(
        select(
            meldingen.c.dienst, meldingen.c.status, meldingen.c.channel, meldingen.c.language, func.count()
        ).group_by(meldingen.c.dienst, meldingen.c.status, meldingen.c.channel, meldingen.c.language)
    )
    history = conn.execute(
        select(meldingen.c.reference, status_history.c.status, status_history.c.at, status_history.c.source)
        .join(status_history, status_history.c.melding_id == meldingen.c.id)
        .order_by(status_history.c.id)
    )
    return {"per": sorted(map(tuple, per), key=repr), "history": list(map(tuple, history))}


def files(settings: Settings) -> set[str]:
    root = settings.attachments_dir
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def close(client: TestClient[Any, Any], reference: str, note: str | None = DESK_NOTE) -> None:
    await twilio_sms.set_status(client, reference, status="behandeld", **({"note": note} if note else {}))


async def by_reference(store: Store, reference: str) -> Any:
    return await store.read(
        lambda c: c.execute(select(meldingen).where(meldingen.c.reference == reference)).one()
    )


async def test_closed_meldingen_past_the_period_lose_their_personal_data_everywhere(
    every_channel: TestClient[Any, Any],
    settings: Settings,
    smtp_port: int,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, store = every_channel, store_of(every_channel)
    web = await post_web(client, name=WEB_NAME, email=WEB_EMAIL, phone=WEB_PHONE, text=WEB_TEXT)
    # The same photo on a melding that stays open: its file must stay.
    still_open = await post_web(
        client,
        name="Open Melder",
        email="open@example.be",
        phone="+32470111333",
        text="Sluikstort: vuilniszakken gedumpt naast de glasbol.",
        where={"street": "Kapucijnenstraat", "postcode": "8500"},
    )
    sms_reference = await twilio_sms.new_sms_melding(client, "SM" + "5" * 32, SMS_TEXT, SMS_NUMBER)
    # An opt-in long ago says nothing worth keeping; an opt-out must be kept to be honoured.
    await store.write(sms.set_optout, "+32470999001", opted_out=False, keyword="START", message_sid="SMa")
    await store.write(sms.set_optout, "+32470999002", opted_out=True, keyword="STOP", message_sid="SMb")
    await asyncio.to_thread(send_mail, smtp_port, mail(MAIL_SENDER, MAIL_TEXT, other_png()), MAIL_SENDER)
    # An auto-reply: never a melding, its audit row names the person (subject, sender).
    away = mail(MAIL_SENDER, "Ik ben afwezig.", other_png()).replace(
        b"Subject: Tegel Dorien", b"Subject: Afwezig: Dorien"
    )
    await asyncio.to_thread(send_mail, smtp_port, away, MAIL_SENDER)
    await run_worker(settings)
    mail_reference = (await store.read(lambda c: c.execute(
        select(meldingen.c.reference).where(meldingen.c.channel == "email")).scalar_one()))  # fmt: skip
    for reference in (web["reference"], sms_reference, mail_reference):
        await close(client, reference)
    await run_worker(settings)
    clock.shift(timedelta(days=300))
    recent = await post_web(
        client,
        name="Recent Melder",
        email="recent@example.be",
        phone="+32470111444",
        text="Er hangt een verkeersbord scheef aan het kruispunt.",
        where={"street": "Ieperstraat", "postcode": "8500"},
    )
    await close(client, recent["reference"], note="Hersteld")
    await run_worker(settings)
    clock.shift(timedelta(days=66))  # the first three were closed 366 days ago, the recent one 66

    before, stats, on_disk = await store.read(dump), await store.read(statistics), files(settings)
    assert len(on_disk) >= 3  # the shared photo, the mail's photo, the raw mail
    closed = [await by_reference(store, r) for r in (web["reference"], sms_reference, mail_reference)]
    assert all(m.status == "behandeld" and m.anonymised_at is None for m in closed)

    # Dry run, by the command: counts, and changes nothing in the store or on disk.
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    assert await asyncio.to_thread(gateway_main, ["retention", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "would anonymise meldingen: 3 meldingen" in printed, printed
    assert "total (dry run, nothing changed):" in printed and "1 opt ins" in printed
    assert await store.read(dump) == before and files(settings) == on_disk

    # The worker's daily job.
    async with worker_ctx(settings) as ctx:
        done = await retention_job(ctx)
    assert done["meldingen"] == 3 and done["opt_ins"] == 1
    assert done["attachments"] == 2  # the web and the mail photo rows
    assert done["files"] == 3  # the mail photo, its raw mail, the auto-reply's raw mail
    after = await store.read(dump)
    found = {(t, w) for t, rows in after.items() for w in GONE if w in repr(rows)}
    assert found == set(), [r for t, w in found for r in after[t] if w in repr(r)]  # in no table, no column
    for reference in (web["reference"], sms_reference, mail_reference):
        m = await by_reference(store, reference)
        assert m.text == MARKER and m.anonymised_at == gateway_now()
        assert (m.reporter_name, m.reporter_email, m.reporter_phone, m.raw, m.house_number) == (None,) * 5
        assert m.dienst is not None  # routing stays
    anonymised_web = await by_reference(store, web["reference"])
    assert (anonymised_web.lat, anonymised_web.lon, anonymised_web.postcode) == (50.827, 3.265, "8500")
    # Files: the shared photo stays (the open melding uses it); the mail's photo and raw mail are gone.
    left = files(settings)
    open_melding = await api_get(client, f"/api/v1/meldingen/{still_open['id']}")
    [photo] = (await open_melding.json())["attachments"]
    assert (
        photo["storage_path"] in left
        and Path(settings.attachments_dir, photo["storage_path"]).read_bytes() == PNG
    )
    assert left == {photo["storage_path"]}, left
    # The open and the recently closed melding are untouched, reporter and all.
    for untouched in (still_open, recent):
        row = await by_reference(store, untouched["reference"])
        assert row.anonymised_at is None and row.reporter_email.endswith("@example.be")
    assert [r[0] for r in after["sms_optouts"]] == ["+32470999002"]
    # Statistics: the same counts per dienst, status, channel and language; the same history.
    assert await store.read(statistics) == stats

    # Run twice: the same result.
    async with worker_ctx(settings) as ctx:
        again = await retention_job(ctx)
    assert set(again.values()) == {0}
    assert await store.read(dump) == after and files(settings) == left


async def test_retention_days_zero_keeps_everything(
    client: TestClient[Any, Any], settings: Settings, clock: time_machine.Traveller
) -> None:
    created = await post_web(client, name=WEB_NAME, email=WEB_EMAIL, phone=WEB_PHONE, text=WEB_TEXT)
    await close(client, created["reference"])
    clock.shift(timedelta(days=3650))
    forever = settings.model_copy(update={"retention_days": 0})
    async with worker_ctx(forever) as ctx:
        assert await retention_job(ctx) == {}
    row = await by_reference(store_of(client), created["reference"])
    assert row.reporter_name == WEB_NAME and row.anonymised_at is None


async def test_a_melding_reopened_after_anonymisation_is_anonymised_again_once_closed_long_enough(
    client: TestClient[Any, Any], settings: Settings, clock: time_machine.Traveller
) -> None:
    created = await post_web(client, name=WEB_NAME, email=WEB_EMAIL, phone=WEB_PHONE, text=WEB_TEXT)
    await close(client, created["reference"])
    clock.shift(timedelta(days=366))
    async with worker_ctx(settings) as ctx:
        assert (await retention_job(ctx))["meldingen"] == 1
        # The case system reopens it; the desk's note names the reporter again.
        clock.shift(timedelta(days=1))
        await twilio_sms.set_status(client, created["reference"], status="in_behandeling", note=DESK_NOTE)
        assert (await retention_job(ctx))["meldingen"] == 0  # open: kept
        await close(client, created["reference"], note="Opnieuw hersteld")
        clock.shift(timedelta(days=100))
        assert (await retention_job(ctx))["meldingen"] == 0  # closed, but not for long enough
        clock.shift(timedelta(days=266))
        assert (await retention_job(ctx))["meldingen"] == 1
        assert (await retention_job(ctx))["meldingen"] == 0
    notes = await store_of(client).read(
        lambda c: list(c.execute(select(status_history.c.note).where(status_history.c.note.is_not(None))))
    )
    assert notes == []


async def test_a_photo_the_disk_refused_leaves_no_file_to_release(
    client: TestClient[Any, Any],
    settings: Settings,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed attachment (disk full at intake) has a row but no file: retention removes the row
    and leaves the attachments directory, and every other file, where they are."""
    kept = await post_web(client, name=WEB_NAME, email=WEB_EMAIL, phone=WEB_PHONE, text=WEB_TEXT)
    with full_disk(settings.attachments_dir, monkeypatch):
        refused = await post_web(client, name=WEB_NAME, email=WEB_EMAIL, phone=WEB_PHONE, text=WEB_TEXT)
    assert refused["attachments_not_stored"]
    before = files(settings)
    await close(client, refused["reference"])
    clock.shift(timedelta(days=366))
    async with worker_ctx(settings) as ctx:
        done = await retention_job(ctx)
    assert done["meldingen"] == 1 and done["attachments"] == 1 and done.get("files", 0) == 0
    assert settings.attachments_dir.is_dir() and files(settings) == before
    assert (await by_reference(store_of(client), kept["reference"])).anonymised_at is None


async def test_the_directory_access_log_is_pruned_after_the_retention_period(
    client: TestClient[Any, Any], settings: Settings, clock: time_machine.Traveller
) -> None:
    """A lookup names an operator, a citizen and an address or number looked up: it goes after
    `retention_days` like a reporter's data; a recent one stays, and a dry run only counts."""
    store = store_of(client)
    looked_up = LookupRecord("an", "1777-2026-000001", "email", "oud@example.be", 7, "Oud Melder")
    await store.write(directory.record, [looked_up])
    clock.shift(timedelta(days=300))
    recent = LookupRecord("bert", None, "phone", "+32470111555", None, None)
    await store.write(directory.record, [recent])
    clock.shift(timedelta(days=66))  # the first 366 days old, the second 66

    def logged(conn: Connection) -> list[str]:
        return sorted(conn.execute(select(directory_lookups.c.query)).scalars())

    assert (await run_retention(store, settings, dry_run=True)).directory_lookups == 1
    assert await store.read(logged) == ["+32470111555", "oud@example.be"]
    async with worker_ctx(settings) as ctx:
        assert (await retention_job(ctx))["directory_lookups"] == 1
    assert await store.read(logged) == ["+32470111555"]
    forever = settings.model_copy(update={"retention_days": 0})
    clock.shift(timedelta(days=3650))
    assert (await run_retention(store, forever)).directory_lookups == 0
    assert await store.read(logged) == ["+32470111555"]
