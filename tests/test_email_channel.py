"""The e-mail channel end to end: real SMTP sessions, a real dovecot, the real worker and relay."""

from __future__ import annotations

import asyncio
import gc
import smtplib
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes as _message_from_bytes
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient
from imap_tools import MailBoxUnencrypted
from imap_tools.idle import IdleManager
from sqlalchemy import select

from gateway.appkeys import STORE
from gateway.channels.email.imap import ImapPoller, MailboxConfig
from gateway.channels.email.mailintake import MailIntake
from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.config import ConfigError, Settings
from gateway.store.schema import inbound_messages
from tests.support.api import api_get
from tests.support.data import MELDPUNT, PNG
from tests.support.dovecot import Dovecot
from tests.support.http import Receiver, RelayHandler, free_port
from tests.support.worker import run_worker


def message_from_bytes(raw: bytes) -> Any:
    return _message_from_bytes(raw, policy=policy.default)  # decoded, unfolded headers


def mail(
    text: str = "Beste, er ligt een losliggende tegel op het voetpad in de Budastraat 12.\n\n"
    "Met vriendelijke groeten,\nAn Peeters\n0470 12 34 56",
    *,
    sender: str = "An Peeters <an@example.be>",
    subject: str = "Losse tegel",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = MELDPUNT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.be")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if attachment:
        filename, ctype, data = attachment
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # on the wire, as MTAs send it


@pytest.fixture
async def smtp_port(client: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    server = await start_smtp(settings, mail_intake(client.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def send(port: int, raw: bytes, *, sender: str = "an@example.be", to: str = MELDPUNT) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.be")
        smtp.mail(sender)
        code, reply = smtp.rcpt(to)
        if code != 250:
            return code, reply
        return smtp.data(raw)


async def asend(port: int, raw: bytes, **kwargs: Any) -> tuple[int, bytes]:
    return await asyncio.to_thread(send, port, raw, **kwargs)


async def inbound(client: TestClient[Any, Any]) -> list[Any]:
    query = select(inbound_messages).order_by(inbound_messages.c.id)
    return await client.app[STORE].read(lambda conn: list(conn.execute(query)))


async def only_melding(client: TestClient[Any, Any]) -> dict[str, Any]:
    [melding] = (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]
    return melding


async def test_mail_becomes_a_melding_with_the_reporter_from_the_signature(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int
) -> None:
    code, reply = await asend(smtp_port, mail(attachment=("tegel.png", "image/png", PNG)))
    assert code == 250, reply
    melding = await only_melding(client)
    assert melding["reference"].encode() in reply
    assert melding["channel"] == "email"
    assert melding["subject"] == "Losse tegel"
    assert "losliggende tegel" in melding["text"]
    assert "Met vriendelijke groeten" not in melding["text"]
    assert melding["reporter"] == {
        "name": "An Peeters",
        "email": "an@example.be",
        "phone": "+32470123456",  # from the signature, stored in E.164 as every channel's
        "feedback": None,
    }
    assert melding["language"] == "nl"
    assert [a["filename"] for a in melding["attachments"]] == ["tegel.png"]
    [record] = await inbound(client)
    assert record.kind == "melding" and record.melding_id == melding["id"]
    raw_file = Path(settings.attachments_dir, record.raw_path)
    assert b"losliggende tegel" in raw_file.read_bytes()  # the original kept for audit


async def test_only_meldpunt_addresses_are_accepted(client: TestClient[Any, Any], smtp_port: int) -> None:
    code, reply = await asend(smtp_port, mail(), to="someone@elsewhere.example")
    assert code == 550 and b"meldpunt only" in reply
    assert (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"] == []


async def test_oversized_mail_is_refused_with_552(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int
) -> None:
    # the settings fixture has a small limit; the listener uses max_mail_bytes
    big = mail(text=("Een lange melding. " * 4 + "\n") * (settings.max_mail_bytes // 70))
    code, reply = await asend(smtp_port, big)
    assert code == 552, reply
    assert await inbound(client) == []


async def test_the_same_message_twice_makes_one_melding(client: TestClient[Any, Any], smtp_port: int) -> None:
    raw = mail(message_id="<retry-1@example.be>")
    first = await asend(smtp_port, raw)
    again = await asend(smtp_port, raw)
    assert first[0] == again[0] == 250
    assert len((await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]) == 1


async def test_store_failure_answers_451_so_the_sender_retries(
    client: TestClient[Any, Any], smtp_port: int
) -> None:
    await client.app[STORE]._writer.stop()  # the store can no longer commit
    code, reply = await asend(smtp_port, mail())
    assert code == 451 and b"try again" in reply
    client.app[STORE]._writer.start()
    code, _ = await asend(smtp_port, mail(message_id="<after-recovery@example.be>"))
    assert code == 250


@pytest.mark.parametrize(
    ("headers", "sender", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "an@example.be", "auto_reply"),
        ({"X-Autoreply": "yes"}, "an@example.be", "auto_reply"),
        ({"Precedence": "bulk"}, "an@example.be", "bulk"),
        ({"List-Id": "<buurt.lists.example.be>"}, "an@example.be", "mailing_list"),
        ({"X-Loop": MELDPUNT}, "an@example.be", "own_mail"),
    ],
)
async def test_automatic_mail_is_stored_and_marked_never_a_melding(
    client: TestClient[Any, Any],
    settings: Settings,
    smtp_port: int,
    smtp_relay: tuple[str, RelayHandler],
    headers: dict[str, str],
    sender: str,
    kind: str,
) -> None:
    code, _ = await asend(smtp_port, mail(headers=headers), sender=sender)
    assert code == 250
    [record] = await inbound(client)
    assert record.kind == kind and record.melding_id is None and record.reason
    assert (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"] == []
    await run_worker(settings.model_copy(update={"smtp_relay": smtp_relay[0]}))
    assert smtp_relay[1].messages == []  # nothing answered


async def test_a_bounce_from_the_null_sender_is_not_a_melding(
    client: TestClient[Any, Any], smtp_port: int
) -> None:
    raw = mail(
        sender="MAILER-DAEMON@mx.example.be",
        subject="Undelivered Mail Returned to Sender",
        text="This is the mail system at host mx.example.be. I'm sorry to have to inform you...",
    )
    code, _ = await asend(smtp_port, raw, sender="")
    assert code == 250
    [record] = await inbound(client)
    assert record.kind == "bounce"


async def test_acknowledgement_threads_and_carries_the_reference(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int, smtp_relay: tuple[str, RelayHandler]
) -> None:
    relay, handler = smtp_relay
    await asend(smtp_port, mail(message_id="<first@example.be>"))
    await run_worker(settings.model_copy(update={"smtp_relay": relay}))
    melding = await only_melding(client)
    acks = [message_from_bytes(m.original_content) for m in handler.messages]
    [ack] = [m for m in acks if "ontvangen" in m["Subject"]]
    assert ack["Subject"].startswith(f"[{melding['reference']}] Uw melding is ontvangen")
    assert ack["In-Reply-To"] == "<first@example.be>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["To"] == "An Peeters <an@example.be>"
    assert melding["reference"] in ack["Message-ID"]
    assert melding["tracking_url"] in ack.get_payload(decode=True).decode()


async def test_acknowledgement_in_french_for_a_french_mail(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int, smtp_relay: tuple[str, RelayHandler]
) -> None:
    text = (
        "Bonjour, il y a un dépôt clandestin de sacs poubelles devant le numéro 5 de la rue. "
        "Pouvez-vous le faire enlever ? Merci beaucoup et bonne journée.\n\nCordialement,\nMarie"
    )
    await asend(smtp_port, mail(text=text, sender="Marie Dupont <marie@example.fr>", subject="Dépôt"))
    await run_worker(settings.model_copy(update={"smtp_relay": smtp_relay[0]}))
    sent = [message_from_bytes(m.original_content) for m in smtp_relay[1].messages]
    [ack] = [m for m in sent if m["Auto-Submitted"] == "auto-replied"]
    assert "Votre signalement a été reçu" in ack["Subject"]
    [status] = [m for m in sent if m["Auto-Submitted"] == "auto-generated"]
    assert "Enregistré" in status["Subject"]  # notifications follow the language too


async def test_acknowledgements_are_rate_limited_per_sender(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int, smtp_relay: tuple[str, RelayHandler]
) -> None:
    limited = settings.model_copy(update={"smtp_relay": smtp_relay[0], "ack_rate_limit": 2})
    for n in range(4):
        await asend(smtp_port, mail(subject=f"Melding {n}", message_id=f"<m{n}@example.be>"))
    await run_worker(limited)
    acks = [m for m in smtp_relay[1].messages if b"ontvangen" in m.original_content]
    assert len(acks) == 2


async def _delivered_melding(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int, relay: str
) -> tuple[dict[str, Any], str]:
    await asend(smtp_port, mail(message_id="<orig@example.be>"))
    await run_worker(settings.model_copy(update={"smtp_relay": relay}))
    return await only_melding(client), "<orig@example.be>"


async def test_reply_to_our_acknowledgement_is_a_followup_not_a_new_melding(
    client: TestClient[Any, Any],
    settings: Settings,
    smtp_port: int,
    smtp_relay: tuple[str, RelayHandler],
    receiver: Receiver,
) -> None:
    melding, _ = await _delivered_melding(client, settings, smtp_port, smtp_relay[0])
    [ack] = [
        m
        for m in map(message_from_bytes, (m.original_content for m in smtp_relay[1].messages))
        if m["Auto-Submitted"] == "auto-replied"
    ]
    reply = mail(
        text="Er ligt nu ook een tweede tegel los.\n\nOp 22 nov. 2026 schreef Meldpunt 1777:\n> Bedankt",
        subject=f"Re: {ack['Subject']}",
        headers={"In-Reply-To": ack["Message-ID"]},
    )
    code, _ = await asend(smtp_port, reply)
    assert code == 250
    await run_worker(settings)
    listed = (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]
    assert [m["id"] for m in listed] == [melding["id"]]
    [followup] = listed[0]["followups"]
    assert followup["text"] == "Er ligt nu ook een tweede tegel los."
    [event] = [r for r in receiver.received if r["body"]["event"] == "melding.followup"]
    assert event["signed"] and event["body"]["followup"]["text"] == "Er ligt nu ook een tweede tegel los."


@pytest.mark.parametrize("prefix", ["Re:", "Antw:", "Fwd:", "Doorst:", "RE: AW:"])
async def test_reference_in_the_subject_threads_only_from_the_reporter(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int, prefix: str
) -> None:
    melding, _ = await _delivered_melding(client, settings, smtp_port, "")
    subject = f"{prefix} [{melding['reference']}] Losse tegel"
    await asend(
        smtp_port,
        mail(
            text="Nog een foto van de tegel.",
            subject=subject,
            attachment=("tegel2.png", "image/png", PNG + b"2"),
        ),
    )
    await asend(smtp_port, mail(text="Ik ben iemand anders.", subject=subject, sender="x@other.example"))
    listed = (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]
    assert len(listed) == 2  # the stranger's mail is a melding of its own
    original = next(m for m in listed if m["id"] == melding["id"])
    assert [f["text"] for f in original["followups"]] == ["Nog een foto van de tegel."]
    assert [a["filename"] for a in original["attachments"]] == ["tegel2.png"]  # the later photo is kept


async def test_answer_to_wachten_op_antwoord_goes_back_to_the_desk(
    client: TestClient[Any, Any], settings: Settings, smtp_port: int
) -> None:
    melding, original_id = await _delivered_melding(client, settings, smtp_port, "")
    store = client.app[STORE]
    from gateway.melding import Status, StatusUpdate
    from gateway.store import history

    await store.write(
        history.add_status,
        melding["id"],
        StatusUpdate(Status.WACHTEN_OP_ANTWOORD, source="case_system", note="Welk huisnummer?"),
    )
    await asend(
        smtp_port,
        mail(
            text="Het is nummer 14.",
            subject="Re: Losse tegel",
            headers={"In-Reply-To": original_id, "References": original_id},
        ),
    )
    got = await (await api_get(client, f"/api/v1/meldingen/{melding['id']}")).json()
    assert got["status"] == "in_behandeling"
    assert got["status_history"][-1]["source"] == "reporter"


async def test_smtp_smuggling_is_refused(client: TestClient[Any, Any], smtp_port: int) -> None:
    smuggled = (
        b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: eerste\r\n\r\nhallo\r\n"
        b"\n.\r\nMAIL FROM:<ceo@kortrijk.be>\r\nRCPT TO:<1777@kortrijk.be>\r\nDATA\r\n"
        b"From: ceo@kortrijk.be\r\nSubject: smuggled\r\n\r\nvals\r\n.\r\n"
    )

    def session() -> bytes:
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=10) as sock:
            f = sock.makefile("rwb")

            def cmd(line: bytes) -> bytes:
                f.write(line)
                f.flush()
                return f.readline()

            f.readline()
            cmd(b"EHLO x\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            cmd(b"MAIL FROM:<an@example.be>\r\n")
            cmd(b"RCPT TO:<1777@kortrijk.be>\r\n")
            cmd(b"DATA\r\n")
            return cmd(smuggled)

    answer = await asyncio.to_thread(session)
    assert answer.startswith(b"554"), answer
    assert (await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"] == []


async def test_starttls_when_a_certificate_is_configured(
    client: TestClient[Any, Any], settings: Settings, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    tls = settings.model_copy(update={"smtp_tls_cert": str(cert), "smtp_tls_key": str(key)})
    server = await start_smtp(tls, mail_intake(client.app), port=free_port())
    port = server.sockets[0].getsockname()[1]

    def session() -> tuple[bool, int]:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            offered = smtp.has_extn("starttls")
            smtp.starttls(context=context)
            smtp.ehlo()
            smtp.mail("an@example.be")
            smtp.rcpt(MELDPUNT)
            return offered, smtp.data(mail())[0]

    try:
        offered, code = await asyncio.to_thread(session)
    finally:
        server.close()
    assert offered and code == 250


async def poll_once(client: TestClient[Any, Any], settings: Settings, url: str) -> ImapPoller:
    poller = ImapPoller(
        MailboxConfig.from_url(url),
        mail_intake(client.app),
        asyncio.get_running_loop(),
        processed_folder="Processed",
        poll_interval=1,
    )

    def once() -> None:
        with poller._connect() as box:
            poller._ensure_folder(box)
            poller.drain(box)

    await asyncio.to_thread(once)
    return poller


def append(dovecot: Dovecot, *raws: bytes) -> None:
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(dovecot.user, dovecot.password) as box:
        for raw in raws:
            box.append(raw, "INBOX")


def folder_count(dovecot: Dovecot, folder: str) -> int:
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(dovecot.user, dovecot.password, folder) as box:
        return len(box.uids())


async def test_imap_imports_each_message_once_and_moves_it_after_storing(
    client: TestClient[Any, Any], settings: Settings, dovecot: Dovecot
) -> None:
    append(
        dovecot,
        mail(message_id="<imap-1@example.be>"),
        mail(subject="Lamp", message_id="<imap-2@example.be>"),
    )
    await poll_once(client, settings, dovecot.url())
    assert len((await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]) == 2
    assert folder_count(dovecot, "INBOX") == 0 and folder_count(dovecot, "Processed") == 2
    # a crash before the move leaves the message behind: the next pass must not import it twice
    append(dovecot, mail(message_id="<imap-1@example.be>"))
    await poll_once(client, settings, dovecot.url())
    assert len((await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]) == 2
    assert folder_count(dovecot, "INBOX") == 0 and folder_count(dovecot, "Processed") == 3


# The IMAP poller's behaviour does not depend on the store, and each run takes 15-19 s: on SQLite
# only (the store tests run on both).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_one_broken_mailbox_does_not_stop_another(
    client: TestClient[Any, Any], settings: Settings, dovecot: Dovecot
) -> None:
    from gateway.channels.email.imap import start_pollers

    append(dovecot, mail(message_id="<still-works@example.be>"))
    urls = f"{dovecot.url(password='wrong')},{dovecot.url()}"
    pollers = start_pollers(urls, mail_intake(client.app), processed_folder="Processed", poll_interval=0.2)
    try:
        await wait_until(lambda: pollers[1].imported == 1)
        assert pollers[0].imported == 0 and pollers[0].thread.is_alive()  # still retrying, with backoff
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in pollers))
    assert len((await (await api_get(client, "/api/v1/meldingen")).json())["meldingen"]) == 1


# The IMAP poller's behaviour does not depend on the store, and each run takes 15-19 s: on SQLite
# only (the store tests run on both).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_imap_idle_picks_up_new_mail_without_waiting_for_a_poll(
    client: TestClient[Any, Any], settings: Settings, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.channels.email.imap import start_pollers

    idling = watch_idle(monkeypatch)
    [poller] = start_pollers(
        dovecot.url(), mail_intake(client.app), processed_folder="Processed", poll_interval=3600
    )
    try:
        await wait_until(idling.is_set)  # connected, drained and idling (not a guess at how long that takes)
        append(dovecot, mail(message_id="<idle@example.be>"))
        await wait_until(lambda: poller.imported == 1, timeout=10)
    finally:
        await asyncio.to_thread(poller.stop)


# The IMAP poller's behaviour does not depend on the store: on SQLite only.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_stopping_a_poller_ends_its_idle_round_and_logs_no_fault(
    client: TestClient[Any, Any], dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from gateway.channels.email.imap import IDLE_SECONDS, start_pollers

    idling = watch_idle(monkeypatch)
    [poller] = start_pollers(
        dovecot.url(), mail_intake(client.app), processed_folder="Processed", poll_interval=3600
    )
    await wait_until(idling.is_set)
    with caplog.at_level("INFO", logger="gateway.channels.email.imap"):
        # a third of a round: a stop that waited for the round to end would leave the thread running
        await asyncio.to_thread(poller.stop, IDLE_SECONDS / 3)
    assert not poller.thread.is_alive()
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")], caplog.text


def test_a_refused_login_leaves_no_connection_open(dovecot: Dovecot) -> None:
    from imap_tools import MailboxLoginError

    loop = asyncio.new_event_loop()
    poller = ImapPoller(
        MailboxConfig.from_url(dovecot.url(password="wrong")), cast(MailIntake, None), loop,
        processed_folder="Processed", poll_interval=1,
    )  # fmt: skip
    gc.collect()  # what earlier tests left is not this test's
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            with pytest.raises(MailboxLoginError):
                poller._connect()  # what each retry of a broken mailbox does
            gc.collect()  # an unclosed socket warns as it is collected
    finally:
        loop.close()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def watch_idle(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a poller idles: imap_tools polls for the server's answer only once IDLE is on."""
    idling = threading.Event()
    poll = IdleManager.poll

    def observed_poll(self: IdleManager, timeout: float | None) -> list[bytes]:
        idling.set()
        return poll(self, timeout)

    monkeypatch.setattr(IdleManager, "poll", observed_poll)
    return idling


async def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    "url",
    [
        "pop3://an:s3cr3t@mail.example/INBOX",
        "imap://an:s3cr3t@mail.example:99999/INBOX",
        "imap://:s3cr3t@h/X",
    ],
)
def test_a_bad_imap_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        MailboxConfig.from_url(url)
    assert "GATEWAY_IMAP_URL" in str(refused.value) and "s3cr3t" not in str(refused.value)
    assert ":***@" in str(refused.value)
    assert "s3cr3t" not in repr(MailboxConfig.from_url("imaps://an:s3cr3t@mail.example/INBOX"))
