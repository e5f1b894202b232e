"""Automatic mail is recognised by the header, structure or text that decided, and people's mail is not."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from gateway.channels.email.automated import detect_automated
from gateway.channels.email.parse import parse_mail

OWN = ("1777@kortrijk.be", "meldpunt@kortrijk.be")


def mail(
    headers: str, body: str = "Er ligt afval op de stoep.\n", *, content_type: str = "text/plain"
) -> bytes:
    base = (
        "From: Jan Peeters <jan.peeters@telenet.be>\nTo: 1777@kortrijk.be\n"
        "Date: Tue, 02 Apr 2024 10:15:00 +0200\nMessage-ID: <abc@telenet.be>\n"
    )
    head = base + headers.strip() + "\n" if headers.strip() else base
    if "Content-Type:" not in headers:
        head += f"Content-Type: {content_type}; charset=utf-8\n"
    return (head + "\n" + body).encode()


def detect(raw: bytes, envelope_from: str | None = "jan.peeters@telenet.be") -> tuple[str, str] | None:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    found = detect_automated(msg, own_addresses=OWN, envelope_from=envelope_from)
    return (found.kind, found.reason) if found else None


@pytest.mark.parametrize(
    ("headers", "kind", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto_reply", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated", "auto_reply", "Auto-Submitted: auto-generated"),
        ("X-Autoreply: yes", "auto_reply", "X-Autoreply: yes"),
        ("X-Autorespond: Afwezig", "auto_reply", "X-Autorespond: Afwezig"),
        ("X-Auto-Response-Suppress: All", "auto_reply", "X-Auto-Response-Suppress: All"),
        (
            "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
            "auto_reply",
            "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
        ),
        ("Precedence: auto_reply", "auto_reply", "Precedence: auto_reply"),
        ("Precedence: bulk", "bulk", "Precedence: bulk"),
        ("Precedence: junk", "bulk", "Precedence: junk"),
        ("Precedence: list", "mailing_list", "Precedence: list"),
        ("List-Id: Buurtcomité <buurt.lists.example.be>", "mailing_list", "List-Id: Buurtcomité"),
        ("List-Unsubscribe: <mailto:leave@news.example.be>", "bulk", "List-Unsubscribe header"),
        ("X-Loop: 1777@kortrijk.be", "own_mail", "X-Loop: 1777@kortrijk.be"),
        ("X-Failed-Recipients: jan@example.be", "bounce", "X-Failed-Recipients header"),
    ],
)
def test_headers_that_mark_automatic_mail(headers: str, kind: str, reason: str) -> None:
    found = detect(mail(headers))
    assert found is not None and found[0] == kind and found[1].startswith(reason)


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("Automatisch antwoord: Uw melding 1777-2024-000123", "auto_reply"),
        ("Afwezig: Uw melding", "auto_reply"),
        ("Réponse automatique : Votre signalement", "auto_reply"),
        ("Absence: Votre signalement", "auto_reply"),
        ("Automatic reply: Your report", "auto_reply"),
        ("Out of Office: Your report", "auto_reply"),
        ("Onbestelbaar: Uw melding", "bounce"),
        ("Undeliverable: Your report", "bounce"),
        ("Undelivered Mail Returned to Sender", "bounce"),
        ("Delivery Status Notification (Failure)", "bounce"),
        ("Non remis : Votre signalement", "bounce"),
    ],
)
def test_subjects_of_automatic_mail(subject: str, kind: str) -> None:
    found = detect(mail(f"Subject: {subject}"))
    assert found is not None and found[0] == kind


@pytest.mark.parametrize(
    "subject",
    [
        "Afwezigheid van de vuilniskar in onze straat",
        "Absence de collecte des poubelles rue de la Gare",
        "Out of order: verkeerslicht aan de Ring",
        "Fwd: Undeliverable: mijn mail aan de stad kwam niet aan",
        "Re: Uw melding 1777-2024-000123",
    ],
)
def test_citizen_subjects_are_not_automatic(subject: str) -> None:
    assert detect(mail(f"Subject: {subject}")) is None


def test_our_own_address_in_from_is_own_mail() -> None:
    raw = mail("").replace(
        b"From: Jan Peeters <jan.peeters@telenet.be>", b"From: Meldpunt <1777@Kortrijk.be>"
    )
    assert detect(raw) == ("own_mail", "From: 1777@kortrijk.be is our own address")


def test_null_envelope_sender_is_a_bounce_and_return_path_is_the_imap_fallback() -> None:
    assert detect(mail(""), envelope_from="") == ("bounce", "null envelope sender <>")
    assert detect(mail("Return-Path: <>"), envelope_from=None) == ("bounce", "Return-Path: <>")
    # With the SMTP envelope known, a forged Return-Path header does not count.
    assert detect(mail("Return-Path: <>"), envelope_from="jan@example.be") is None


def test_mailer_daemon_sender_is_a_bounce() -> None:
    raw = mail("").replace(
        b"Jan Peeters <jan.peeters@telenet.be>", b"Mail Delivery System <MAILER-DAEMON@mx.example.be>"
    )
    assert detect(raw) == ("bounce", "From: mailer-daemon@mx.example.be")


def test_a_person_writing_from_a_postmaster_address_is_not_a_bounce() -> None:
    raw = mail("Subject: Losliggende tegel").replace(b"jan.peeters@telenet.be>", b"postmaster@telenet.be>")
    assert detect(raw) is None


def test_bounce_text_without_bounce_headers() -> None:
    body = "Error: Invalid user address\n\n550 - Requested action not taken: no such user here\n"
    found = detect(mail("Subject: Re: Uw melding", body))
    assert found is not None and found[0] == "bounce"


def test_forwarded_bounce_quoted_by_a_person_is_not_a_bounce() -> None:
    body = (
        "Mijn mail aan de stad kwam terug, zie hieronder.\n\n"
        "> This is the mail system at host mx.example.be.\n> 550 5.1.1 <1777@kortrijk.be>: User unknown\n"
    )
    assert detect(mail("Subject: Fwd: Undelivered Mail Returned to Sender", body)) is None


def _report(report_type: str, part_type: str, part_body: str) -> bytes:
    return mail(
        f'Content-Type: multipart/report; report-type={report_type}; boundary="b"',
        "--b\nContent-Type: text/plain\n\nNotification.\n"
        f"--b\nContent-Type: {part_type}\n\n{part_body}\n--b--\n",
    )


def test_dsn_mdn_and_arf_structures() -> None:
    dsn = _report("delivery-status", "message/delivery-status", "Reporting-MTA: dns; mx.example.be\n")
    mdn = _report("disposition-notification", "message/disposition-notification", "Disposition: displayed\n")
    arf = _report("feedback-report", "message/feedback-report", "Feedback-Type: abuse\n")
    assert detect(dsn) == (
        "bounce",
        "delivery status notification: multipart/report; report-type=delivery-status",
    )
    assert (detect(mdn) or ("", ""))[0] == "auto_reply"
    assert "feedback report" in (detect(arf) or ("", ""))[1]


def test_no_reply_sender_is_automatic_unless_a_person_can_be_answered() -> None:
    machine = mail("").replace(b"Jan Peeters <jan.peeters@telenet.be>", b"<no-reply@notify.example.com>")
    assert detect(machine) == ("bulk", "From: no-reply@notify.example.com without a Reply-To to answer")
    # A web form relaying a citizen: the citizen is in Reply-To.
    relay = mail("Reply-To: Jan Peeters <jan.peeters@telenet.be>").replace(
        b"Jan Peeters <jan.peeters@telenet.be>\nTo", b"Webformulier <noreply@kortrijk.be>\nTo"
    )
    assert detect(relay) is None


def test_auto_submitted_no_and_ordinary_mail_are_human() -> None:
    assert detect(mail("Auto-Submitted: no\nSubject: Losliggende tegel")) is None
    msg = EmailMessage()
    msg["From"] = "An De Smet <an.desmet@skynet.be>"
    msg["To"] = "1777@kortrijk.be"
    msg["Subject"] = "Straatlamp kapot"
    msg.set_content("De straatlamp aan de Kapucijnenstraat 3 brandt niet.")
    assert detect(msg.as_bytes()) is None


def test_parse_mail_reports_automated_and_still_parses() -> None:
    parsed = parse_mail(mail("Auto-Submitted: auto-replied\nSubject: Afwezig: uw melding", "Ik ben afwezig."))
    assert parsed.automated is not None and parsed.automated.kind == "auto_reply"
    assert parsed.text == "Ik ben afwezig."
