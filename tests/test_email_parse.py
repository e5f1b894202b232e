"""parse_mail on hand-written Flemish, French and English mail: headers, charsets, HTML, files, forwards."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.channels.email.parse import parse_mail
from tests.support.data import CORPORA

JPEG = (CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments/test.jpg").read_bytes()
PNG = (CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments/test.png").read_bytes()
PDF = (CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments/test.pdf").read_bytes()
ZIP = (CORPORA / "ruby-mail-fixtures/spec/fixtures/attachments/test.zip").read_bytes()
OWN = ["1777@kortrijk.be"]


def raw_mail(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def citizen_mail(text: str = "Er ligt een losliggende tegel op het voetpad voor nummer 12.") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Jan Peeters <jan.peeters@telenet.be>"
    msg["To"] = "Meldpunt 1777 <1777@kortrijk.be>"
    msg["Subject"] = "Losliggende tegel"
    msg["Date"] = "Tue, 02 Apr 2024 10:15:00 +0200"
    msg["Message-ID"] = "<tegel-1@telenet.be>"
    msg.set_content(text)
    return msg


# ---------------------------------------------------------------- headers


def test_headers_of_an_ordinary_report() -> None:
    msg = citizen_mail()
    msg["In-Reply-To"] = "<ack-1@kortrijk.be>"
    msg["References"] = "<first@telenet.be> <ack-1@kortrijk.be>"
    parsed = parse_mail(msg.as_bytes(), own_addresses=OWN, envelope_from="jan.peeters@telenet.be")
    assert parsed.message_id == "tegel-1@telenet.be"
    assert parsed.in_reply_to == ("ack-1@kortrijk.be",)
    assert parsed.references == ("first@telenet.be", "ack-1@kortrijk.be")
    assert parsed.subject == "Losliggende tegel"
    assert (parsed.from_address, parsed.from_name) == ("jan.peeters@telenet.be", "Jan Peeters")
    assert parsed.date == datetime(2024, 4, 2, 10, 15, tzinfo=timezone(timedelta(hours=2)))
    assert parsed.text == "Er ligt een losliggende tegel op het voetpad voor nummer 12."
    assert parsed.language == "nl"
    assert parsed.automated is None and parsed.defects == () and parsed.forwarded_by is None


def test_missing_and_garbled_headers_degrade_to_none() -> None:
    parsed = parse_mail(raw_mail("Message-ID: not an id\nDate: gisteren\nFrom: Jan", b"Hallo"))
    assert parsed.message_id is None
    assert parsed.date is None and any("Date" in d for d in parsed.defects)
    assert parsed.from_address is None and parsed.from_name == "Jan"
    assert parsed.subject == ""


def test_unknown_zone_date_is_read_as_utc() -> None:
    parsed = parse_mail(raw_mail("Date: Tue, 02 Apr 2024 10:15:00 -0000", b"x"))
    assert parsed.date == datetime(2024, 4, 2, 10, 15, tzinfo=UTC)


def test_sender_falls_back_to_reply_to() -> None:
    parsed = parse_mail(raw_mail("From: Webformulier\nReply-To: An <AN@Example.BE>", b"x"))
    assert parsed.from_address == "an@example.be"


def test_rfc2047_subject_split_inside_a_character_and_8bit_headers() -> None:
    headers = (
        "From: =?iso-8859-1?Q?Fran=E7oise_Dupr=E9?= <francoise@example.be>\n"
        # "Défaut d'éclairage" with the "é" of "éclairage" split over two encoded words
        "Subject: =?UTF-8?B?RMOpZmF1dCBkJ8M=?= =?UTF-8?B?qWNsYWlyYWdl?="
    )
    parsed = parse_mail(raw_mail(headers, b"x"))
    assert parsed.subject == "Défaut d'éclairage"
    assert parsed.from_name == "Françoise Dupré"
    latin1 = parse_mail(b"Subject: Verlichting Gro\xebnlandstraat\r\nFrom: Jos\xe9 <j@example.be>\r\n\r\nx")
    assert latin1.subject == "Verlichting Groënlandstraat" and latin1.from_name == "José"
    utf8 = parse_mail("Subject: Verlichting Groënlandstraat\r\n\r\nx".encode())
    assert utf8.subject == "Verlichting Groënlandstraat"


# ---------------------------------------------------------------- charsets


@pytest.mark.parametrize(
    ("charset", "body", "text", "defect"),
    [
        (
            "iso-8859-1",
            "Caf\xe9 De Zw\xe2n: vuilniszak op de stoep.".encode("latin-1"),
            "Café De Zwân",
            False,
        ),
        ("windows-1252", "Kost \x80 50 \x96 \x93raar\x94".encode("latin-1"), "Kost € 50 – “raar”", False),
        ("iso-8859-1", "Kost \x80 50".encode("latin-1"), "Kost € 50", False),  # latin-1 label, cp1252 bytes
        ("utf-8", "Rue de la Gare: dépôt clandestin".encode(), "dépôt clandestin", False),
        (
            "utf-8",
            "Caf\xe9 De Zwaan".encode("latin-1"),
            "Café De Zwaan",
            True,
        ),  # declared utf-8, latin-1 bytes
        ("iso-8859-1", "Café De Zwaan".encode(), "Café De Zwaan", True),  # declared latin-1, UTF-8 bytes
        ("x-unknown", "Café".encode(), "Café", True),
        ("uft-8", "Café".encode(), "Café", True),
        ("base64", b"plain text", "plain text", True),  # a codec name that is not a charset
    ],
)
def test_body_charsets_and_mislabels(charset: str, body: bytes, text: str, defect: bool) -> None:
    raw = raw_mail(f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit", body)
    parsed = parse_mail(raw)
    assert text in parsed.text
    assert bool(parsed.defects) == defect


def test_quoted_printable_and_base64_bodies() -> None:
    qp = raw_mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
        b"De boom aan de Broeltorens is omgevallen, het fietspad is versp=\r\nerd. Caf=C3=A9 ernaast.",
    )
    assert (
        parse_mail(qp).text
        == "De boom aan de Broeltorens is omgevallen, het fietspad is versperd. Café ernaast."
    )


# ---------------------------------------------------------------- HTML


def test_html_only_mail_becomes_clean_text() -> None:
    html = (
        "<html><head><title>x</title><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Beste,</p><p>De straatlamp aan de <b>Kapucijnenstraat</b> &amp; de hoek met de Leiestraat brandt "
        "niet.<br>Al sinds maandag.</p><div style='display:none'>preheader</div>"
        "<p>Caf&eacute; &lsquo;t Hoekske ligt ernaast.</p></body></html>"
    )
    raw = raw_mail("Content-Type: text/html; charset=utf-8", html.encode())
    parsed = parse_mail(raw)
    assert parsed.full_text == (
        "Beste,\n\nDe straatlamp aan de Kapucijnenstraat & de hoek met de Leiestraat brandt niet.\n"
        "Al sinds maandag.\n\nCafé ‘t Hoekske ligt ernaast."
    )
    assert "<" not in parsed.text and "color" not in parsed.text and "alert" not in parsed.text


def test_plain_text_is_preferred_over_html() -> None:
    msg = citizen_mail("Platte tekst van de melding.")
    msg.add_alternative("<p>HTML-versie van de melding.</p>", subtype="html")
    assert parse_mail(msg.as_bytes()).full_text == "Platte tekst van de melding."


def test_dutch_outlook_html_reply_is_stripped() -> None:
    html = (
        "<html><head><style>p.MsoNormal{margin:0cm}</style></head><body><div class=WordSection1>"
        "<p class=MsoNormal>Het afval ligt er nog steeds.<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>Met vriendelijke groeten,<o:p></o:p></p>"
        "<p class=MsoNormal>Els Maes<o:p></o:p></p>"
        "<p class=MsoNormal>0476 98 76 54<o:p></o:p></p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt'><p class=MsoNormal>"
        "<b>Van:</b> Meldpunt 1777 &lt;1777@kortrijk.be&gt;<br>"
        "<b>Verzonden:</b> dinsdag 2 april 2024 10:15<br><b>Aan:</b> Els Maes<br>"
        "<b>Onderwerp:</b> Uw melding 1777-2024-000123</p></div>"
        "<p class=MsoNormal>Beste, uw melding werd doorgegeven aan Nette Stad.</p></div></body></html>"
    )
    raw = raw_mail("Subject: RE: Uw melding\nContent-Type: text/html; charset=utf-8", html.encode())
    parsed = parse_mail(raw)
    assert parsed.text == "Het afval ligt er nog steeds."
    assert parsed.signature == "Met vriendelijke groeten,\nEls Maes\n0476 98 76 54"
    assert parsed.phone == "0476 98 76 54"
    assert "doorgegeven aan Nette Stad" in parsed.full_text


def test_gmail_html_blockquote_becomes_quote_lines() -> None:
    html = (
        '<div dir="ltr">De put is nog niet hersteld.</div><div class="gmail_quote"><div class="gmail_attr">'
        "Op di 2 apr 2024 om 10:15 schreef Meldpunt 1777 &lt;1777@kortrijk.be&gt;:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid">'
        "<p>Beste,</p><p>Uw melding is behandeld.</p></blockquote></div>"
    )
    parsed = parse_mail(raw_mail("Content-Type: text/html; charset=utf-8", html.encode()))
    assert parsed.text == "De put is nog niet hersteld."
    assert "> Uw melding is behandeld." in parsed.full_text


def test_deeply_nested_html_keeps_its_words() -> None:
    # libxml2 stops at 256 levels; the words must survive anyway.
    html = "<div>" * 5000 + "Losse tegel &amp; put" + "</div>" * 5000
    assert parse_mail(raw_mail("Content-Type: text/html", html.encode())).text == "Losse tegel & put"


def test_utf8_with_a_stray_byte_stays_utf8() -> None:
    body = "Café De Zwaan, één vuilniszak, één kapotte lamp: ".encode() + b"\xff" + b" dringend."
    parsed = parse_mail(raw_mail("Content-Type: text/plain; charset=utf-8", body))
    assert parsed.text == "Café De Zwaan, één vuilniszak, één kapotte lamp: \ufffd dringend."
    assert parsed.defects == ("text/plain: invalid UTF-8 bytes replaced",)


def test_indentation_blockquote_is_the_writers_own_text() -> None:
    html = (
        '<p>Adres:</p><blockquote style="margin:0 0 0 40px;border:none;padding:0px">'
        "Budastraat 12</blockquote>"
    )
    parsed = parse_mail(raw_mail("Content-Type: text/html; charset=utf-8", html.encode()))
    assert "Budastraat 12" in parsed.text


# ---------------------------------------------------------------- attachments


def with_files(*files: tuple[bytes, str, str, str | None]) -> EmailMessage:
    msg = citizen_mail()
    for data, maintype, subtype, filename in files:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def test_photos_and_pdfs_are_kept_with_their_type() -> None:
    msg = with_files((JPEG, "image", "jpeg", "tegel.jpg"), (PDF, "application", "pdf", "plan.pdf"))
    parsed = parse_mail(msg.as_bytes())
    assert [(a.filename, a.content_type, a.data, a.inline) for a in parsed.attachments] == [
        ("tegel.jpg", "image/jpeg", JPEG, False),
        ("plan.pdf", "application/pdf", PDF, False),
    ]
    assert parsed.refused == ()
    assert parsed.text == "Er ligt een losliggende tegel op het voetpad voor nummer 12."


def test_generic_or_lying_types_are_sniffed_and_names_made_safe() -> None:
    msg = with_files(
        (JPEG, "application", "octet-stream", "../../foto.jpg"),
        (PNG, "image", "jpeg", None),  # a PNG declared as JPEG and without a name
    )
    parsed = parse_mail(msg.as_bytes())
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("foto.jpg", "image/jpeg"),
        ("bijlage-2.png", "image/png"),
    ]


def test_dangerous_and_oversized_files_are_refused_with_a_reason_and_the_mail_still_parses() -> None:
    msg = with_files(
        (b"MZ\x90\x00" + b"\x00" * 100, "application", "x-msdownload", "factuur.exe"),
        (b"MZ\x90\x00" + b"\x00" * 100, "image", "jpeg", "foto.jpg"),
        (ZIP, "application", "zip", "fotos.zip"),
        (b"Sub AutoOpen()", "application", "vnd.ms-word.document.macroenabled.12", "brief.docm"),
        (JPEG, "image", "jpeg", "foto.jpg.exe"),
        (PDF, "application", "pdf", "groot.pdf"),
    )
    parsed = parse_mail(msg.as_bytes(), max_attachment_bytes=10 * 1024)
    reasons = {r.filename: r.reason for r in parsed.refused}
    assert reasons == {
        "factuur.exe": "type application/x-msdownload is not accepted",
        "foto.jpg": "declared image/jpeg but the content is a Windows executable",
        "fotos.zip": "type application/zip is not accepted",
        "brief.docm": "type application/vnd.ms-word.document.macroenabled.12 is not accepted",
        "foto.jpg.exe": "file name extension .exe is not accepted",
        "groot.pdf": "11.2 kB exceeds the 10 kB limit",
    }
    assert parsed.attachments == ()
    assert parsed.text == "Er ligt een losliggende tegel op het voetpad voor nummer 12."


def test_outlook_winmail_dat_is_refused_visibly() -> None:
    # TNEF can carry the sender's photos: refused with a reason, never dropped in silence.
    (refused,) = parse_mail(
        with_files((b"\x78\x9f\x3e\x22" + b"\x00" * 64, "application", "ms-tnef", "winmail.dat")).as_bytes()
    ).refused
    assert (refused.filename, refused.reason) == ("winmail.dat", "type application/ms-tnef is not accepted")


def test_size_reason_in_megabytes() -> None:
    msg = with_files((JPEG + b"\x00" * (12 * 1024 * 1024), "image", "jpeg", "groot.jpg"))
    (refused,) = parse_mail(msg.as_bytes()).refused
    assert refused.reason == "12 MB exceeds the 10 MB limit"


def test_inline_image_by_disposition_and_by_content_id() -> None:
    msg = citizen_mail("Zie foto.")
    msg.add_alternative('<p>Zie foto.</p><img src="cid:foto1@kortrijk">', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<foto1@kortrijk>")
    related = html_part.get_payload()[1]
    del related["Content-Disposition"]  # Apple Mail and others omit it: the cid reference decides
    parsed = parse_mail(msg.as_bytes())
    (image,) = parsed.attachments
    assert (image.content_type, image.inline, image.content_id) == ("image/png", True, "foto1@kortrijk")
    assert parsed.text == "Zie foto."


# ---------------------------------------------------------------- forwarded mail


def test_attached_message_is_the_report() -> None:
    inner = citizen_mail("De vuilniszakken zijn niet opgehaald in de Sint-Amandsstraat.")
    inner.replace_header("From", "Lotte Claeys <lotte.claeys@gmail.com>")
    inner.replace_header("Subject", "Afval niet opgehaald")
    inner.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="zakken.jpg")
    outer = EmailMessage()
    outer["From"] = "Schepen <schepen@kortrijk.be>"
    outer["Subject"] = "Fwd: Afval niet opgehaald"
    outer["Message-ID"] = "<fwd-1@kortrijk.be>"
    outer.set_content("Graag opvolgen.\n\nMvg,\nPieter")
    outer.add_attachment(inner)
    parsed = parse_mail(outer.as_bytes())
    assert parsed.forwarded_by == "schepen@kortrijk.be"
    assert (parsed.from_address, parsed.from_name) == ("lotte.claeys@gmail.com", "Lotte Claeys")
    assert parsed.subject == "Afval niet opgehaald"
    assert parsed.text == "De vuilniszakken zijn niet opgehaald in de Sint-Amandsstraat."
    assert parsed.forward_note == "Graag opvolgen."
    assert [a.filename for a in parsed.attachments] == ["zakken.jpg"]
    assert parsed.message_id == "fwd-1@kortrijk.be"  # threading stays with the mail we received


def inline_forward(note: str, marker: str, subject: str, text: str) -> bytes:
    """Jan's mail forwarding Lotte's inline under `marker`, his `note` above it."""
    body = (
        f"{note}{marker}\nVan: Lotte Claeys <lotte.claeys@gmail.com>\nDatum: 2 april 2024 om 10:15:00 CEST\n"
        f"Onderwerp: {subject}\nAan: schepen@kortrijk.be\n\n{text}\n\nGroetjes\nLotte\n"
    )
    msg = citizen_mail(body)
    msg.replace_header("Subject", f"Fwd: {subject}")
    return msg.as_bytes()


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Doorgestuurd bericht ---------",
        "---------- Forwarded message ---------",
        "Begin doorgestuurd bericht:",
        "Début du message réexpédié :",
    ],
)
def test_inline_forward_as_the_whole_body(marker: str) -> None:
    parsed = parse_mail(
        inline_forward("", marker, "Afval niet opgehaald", "De vuilniszakken zijn niet opgehaald.")
    )
    assert parsed.forwarded_by == "jan.peeters@telenet.be"
    assert (parsed.from_address, parsed.subject) == ("lotte.claeys@gmail.com", "Afval niet opgehaald")
    assert parsed.text == "De vuilniszakken zijn niet opgehaald."
    assert parsed.forward_note is None


NEW_PROBLEM = "Maar nu ligt het voetpad ervoor open, de tegels liggen los en scheef."
DONE_NOTE = (
    "Dag,\n\nDe lamp die mijn buurvrouw meldde (zie hieronder) brandt weer, waarvoor dank. " + NEW_PROBLEM
)


def test_a_forward_whose_note_says_the_forwarded_problem_is_over_is_the_forwarders_report() -> None:
    """The twenty-sixth round: the note reports a problem of its own; the forward is history."""
    marker = "---------- Forwarded message ---------"
    note = f"{DONE_NOTE}\n\nGroeten,\nJan\n\n"
    parsed = parse_mail(
        inline_forward(note, marker, "Lamp kapot", "De straatlamp voor nummer 3 brandt niet meer.")
    )
    assert (parsed.forwarded_by, parsed.from_address) == (None, "jan.peeters@telenet.be")
    assert NEW_PROBLEM in parsed.text and "nummer 3" not in parsed.text
    # attached, the same
    inner = citizen_mail("De straatlamp voor nummer 3 brandt niet meer.")
    inner.replace_header("From", "Lotte Claeys <lotte.claeys@gmail.com>")
    outer = EmailMessage()
    outer["From"] = "Jan Peeters <jan.peeters@telenet.be>"
    outer["Subject"] = "Fwd: Lamp kapot"
    outer.set_content(DONE_NOTE + "\n\nJan")
    outer.add_attachment(inner)
    attached = parse_mail(outer.as_bytes())
    assert (attached.forwarded_by, attached.from_address) == (None, "jan.peeters@telenet.be")
    assert NEW_PROBLEM in attached.text


def test_outlook_forward_with_only_a_name_keeps_the_forwarders_address() -> None:
    body = (
        "\n\nVan: Lotte Claeys\nVerzonden: dinsdag 2 april 2024 10:15\nAan: Schepen\n"
        "Onderwerp: Afval niet opgehaald\n\nDe vuilniszakken zijn niet opgehaald.\n"
    )
    msg = citizen_mail(body)
    msg.replace_header("Subject", "Doorst: Afval niet opgehaald")
    parsed = parse_mail(msg.as_bytes())
    assert (parsed.from_address, parsed.from_name) == ("jan.peeters@telenet.be", "Lotte Claeys")
    assert parsed.forwarded_by == "jan.peeters@telenet.be"
    assert parsed.text == "De vuilniszakken zijn niet opgehaald."


def test_reply_with_outlook_history_is_not_a_forward() -> None:
    body = (
        "Het is nog steeds niet opgelost.\n\nVan: Meldpunt 1777 <1777@kortrijk.be>\n"
        "Verzonden: dinsdag 2 april 2024 10:15\nAan: Jan Peeters\nOnderwerp: Uw melding\n\nBeste, ...\n"
    )
    msg = citizen_mail(body)
    msg.replace_header("Subject", "RE: Uw melding 1777-2024-000123")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.forwarded_by is None
    assert parsed.text == "Het is nog steeds niet opgelost."


# ---------------------------------------------------------------- language, phone


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Er ligt al drie dagen een hoop afval naast de glasbol, kan dit opgehaald worden?", "nl"),
        (
            "Bonjour, il y a un dépôt clandestin devant chez moi, rue de la Gare. Merci de le ramasser.",
            "fr",
        ),
        ("Hello, the street light in front of my house has been broken for a week. Can you fix it?", "en"),
        ("Zie foto", None),
    ],
)
def test_language(text: str, language: str | None) -> None:
    assert parse_mail(citizen_mail(text).as_bytes()).language == language


def test_flemish_signature_with_phone() -> None:
    text = (
        "Goedemiddag,\n\nIn de Groeningestraat ter hoogte van nummer 20 is een rioolputdeksel weg.\n\n"
        "Mvg,\nWard Vermeulen\nTel. +32 470/12.34.56"
    )
    parsed = parse_mail(citizen_mail(text).as_bytes())
    assert (
        parsed.text
        == "Goedemiddag,\n\nIn de Groeningestraat ter hoogte van nummer 20 is een rioolputdeksel weg."
    )
    assert parsed.phone == "+32 470/12.34.56"
    assert parsed.signature == "Mvg,\nWard Vermeulen\nTel. +32 470/12.34.56"


# ---------------------------------------------------------------- never raises


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"From: \r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
        b'Content-Type: text/plain; charset="\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!',
        b"Subject: =?utf-8?B?broken?= =?x-unknown?Q?=FF?=\r\n\r\nx",
        b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n" * 30,
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 200,
    ],
)
def test_never_raises_on_broken_input(raw: bytes) -> None:
    parsed = parse_mail(raw)
    assert not [d for d in parsed.defects if d.startswith("internal error")]


def test_never_raises_on_mutated_real_mail() -> None:
    """Truncations and byte flips of real messages: degraded results, never an exception."""
    rng = random.Random(1777)
    sources = [
        CORPORA / "ruby-mail-fixtures/spec/fixtures/emails/attachment_emails/attachment_pdf.eml",
        CORPORA / "flanker-messages/messages/bounce/office365.eml",
        CORPORA / "talon-quotes-signatures/tests/fixtures/standard_replies/outlook.eml",
    ]
    for source in sources:
        original = Path(source).read_bytes()
        for _ in range(60):
            data = bytearray(original[: rng.randrange(len(original) + 1)])
            for _ in range(rng.randrange(20)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            parsed = parse_mail(bytes(data))
            assert not [d for d in parsed.defects if d.startswith("internal error")]
