"""Property-based bad mail (hypothesis): real corpus messages, mutated as broken and hostile senders
mutate them (cut short, boundaries wrong or missing, bad charsets and transfer encodings, NUL and
invalid UTF-8 in headers, encoded-word garbage, huge headers, absurd dates, file names with ../,
absolute paths and NUL), plus structures no client makes (10,000 parts, multiparts 200 deep).

- `parse_mail` (many examples, fast): never raises and never falls back to its last-resort
  "internal error" reading; every file name is a bare name; every text can be stored.
- Through a real SMTP session into the listener (fewer examples): 250 with the melding stored whole,
  or a 5xx saying why; never aiosmtpd's generic "500 Error" (an exception escaping the handler),
  never a 451 (the handler's "could not store"), never half a melding or a file nobody refers to.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import smtplib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.channels.email.parse import ParsedMail, parse_mail
from gateway.channels.email.service import mail_intake
from gateway.channels.email.smtp import start_smtp
from gateway.cleantext import clean_text
from gateway.config import Settings
from gateway.store.schema import attachments, inbound_messages, meldingen, status_history
from tests.support.api import store_of
from tests.support.data import CORPORA, MELDPUNT, PNG
from tests.support.http import free_port
from tests.support.mail import attachment_mail

UNIT = settings(max_examples=300, deadline=None, derandomize=True)
SESSION = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    # One SMTP listener per test and backend, shared by its examples (as tests/test_bad_input_fuzz.py).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _seeds() -> list[bytes]:
    """Real messages of every shape: plain, multipart, attachments, charsets, broken ones."""
    ruby = CORPORA / "ruby-mail-fixtures/spec/fixtures/emails"
    files = [
        *sorted((CORPORA / "cpython-test-email").glob("msg_*.txt")),
        *sorted(p for p in ruby.rglob("*") if p.is_file() and p.name != ".gitattributes"),
        *sorted((CORPORA / "flanker-messages/messages").rglob("*.eml")),
        *sorted((CORPORA / "chatwoot-mail-fixtures").glob("*.eml")),
    ]
    return [raw for raw in (p.read_bytes() for p in files) if len(raw) < 200_000]


SEEDS = _seeds()


# -- mutations ------------------------------------------------------------------------------------


def _at(raw: bytes, where: float) -> int:
    return int(len(raw) * where)


_BOUNDARY = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)
_CHARSET = re.compile(rb'charset="?[^";\s]+"?', re.IGNORECASE)
_ENCODING = re.compile(rb"content-transfer-encoding:[^\r\n]*", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _header(raw: bytes, line: bytes) -> bytes:
    """`line` as the first header (a header both the sender's client and ours must read)."""
    return line + b"\r\n" + raw


def _in_body(raw: bytes, where: float, chunk: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    start = end.end() if end else 0
    at = start + int((len(raw) - start) * where)
    return raw[:at] + chunk + raw[at:]


HOSTILE_NAMES = [
    b"../../../etc/passwd",
    b"..\\..\\windows\\system32\\foto.jpg",
    b"/etc/cron.d/foto.jpg",
    b"C:\\Users\\x\\foto.jpg",
    b"foto\x00.exe.jpg",
    b"..%2F..%2Ffoto.jpg",
    b"=?utf-8?b?Li4vLi4vZm90by5qcGc=?=",  # ../../foto.jpg as an encoded word
    b".",
    b"..",
    b"a" * 400 + b".jpg",
    b"\xff\xfe\x00f\x00o\x00t\x00o.jpg",
]


MUTATIONS: dict[str, Callable[[bytes, float, bytes], bytes]] = {
    "truncate": lambda raw, w, _: raw[: _at(raw, w)],
    "nul": lambda raw, w, _: raw[: _at(raw, w)] + b"\x00" + raw[_at(raw, w) :],
    "bytes": lambda raw, w, junk: raw[: _at(raw, w)] + junk + raw[_at(raw, w) :],
    "overwrite": lambda raw, w, junk: raw[: _at(raw, w)] + junk + raw[_at(raw, w) + len(junk) :],
    "no_boundary": lambda raw, w, _: _BOUNDARY.sub(b"", raw),
    "wrong_boundary": lambda raw, w, junk: _BOUNDARY.sub(b'boundary="' + junk.hex().encode() + b'"', raw),
    "empty_boundary": lambda raw, w, _: _BOUNDARY.sub(b'boundary=""', raw),
    "bad_charset": lambda raw, w, junk: _CHARSET.sub(
        [
            b"charset=x-unknown",
            b"charset=utf-7",
            b'charset=""',
            b"charset=utf-8''%ff",
            b"charset=" + junk.hex().encode(),
        ][int(w * 5) % 5],
        raw,
    ),
    "bad_encoding": lambda raw, w, _: _ENCODING.sub(
        [
            b"Content-Transfer-Encoding: base64",
            b"Content-Transfer-Encoding: quoted-printable",
            b"Content-Transfer-Encoding: x-uuencode",
            b"Content-Transfer-Encoding: 8bit",
        ][int(w * 4) % 4],
        raw,
    ),
    "bad_base64": lambda raw, w, _: _in_body(raw, w, b"!!==\r\n=@@\r\nQUJD=\r\n"),
    "bad_qp": lambda raw, w, _: _in_body(raw, w, b"=ZZ=\r\n=\r\n=F"),
    "utf8_header": lambda raw, w, junk: _header(raw, b"Subject: \xff\xfe\xc3(" + junk),
    "utf8_from": lambda raw, w, junk: _header(raw, b"From: \xc3\x28 <" + junk + b"@\xff.be>"),
    "encoded_words": lambda raw, w, junk: _header(
        raw, b"Subject: =?utf-8?b?!!!?= =?x-bogus?q?=ff=fe?= =?utf-8?q?" + junk.hex().encode() + b"?= =?="
    ),
    "huge_header": lambda raw, w, _: _header(raw, b"X-Huge: " + b"a" * 100_000),
    "many_headers": lambda raw, w, _: b"".join(b"X-H%d: v\r\n" % n for n in range(5_000)) + raw,
    "folded_forever": lambda raw, w, _: _header(raw, b"Subject: x" + b"\r\n x" * 20_000),
    "absurd_date": lambda raw, w, _: _header(
        raw,
        [
            b"Date: Mon, 31 Feb 99999 25:61:61 +9999",
            b"Date: 0",
            b"Date: Thu, 01 Jan 0001 00:00:00 -2400",
            b"Date: " + b"9" * 400,
            b"Date: Fri, 31 Dec 9999 23:59:59 +0000",
            b"Date: \x00\xff",
        ][int(w * 6) % 6],
    ),
    "hostile_name": lambda raw, w, _: attachment_mail(
        HOSTILE_NAMES[int(w * len(HOSTILE_NAMES)) % len(HOSTILE_NAMES)], PNG
    ),
}
MUTATION = st.sampled_from(sorted(MUTATIONS))
JUNK = st.binary(min_size=1, max_size=40)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        name = draw(MUTATION)
        raw = MUTATIONS[name](raw, draw(st.floats(0, 1)), draw(JUNK))
    return raw


def nested(depth: int) -> bytes:
    """A multipart inside a multipart ... `depth` deep, a text at the bottom."""
    head = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: diep\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="d%d"\r\n\r\n--d%d\r\n' % (n, n) for n in range(depth)
    )
    closing = b"".join(b"\r\n--d%d--\r\n" % n for n in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nLosse tegel.\r\n" + closing


def many_parts(count: int) -> bytes:
    head = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: veel\r\nMIME-Version: 1.0\r\n"
    head += b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
    part = b'--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="x.png"\r\n\r\nx\r\n'
    text = b"--m\r\nContent-Type: text/plain\r\n\r\nSluikstort aan de glasbol.\r\n"
    return head + text + part * count + b"--m--\r\n"


def many_references(count: int) -> bytes:
    """A reply naming `count` earlier messages (folded: every line within the SMTP limit)."""
    ids = b"\r\n ".join(b"<r%d@x.be>" % n for n in range(count))
    head = b"From: an@example.be\r\nTo: 1777@kortrijk.be\r\nSubject: Re: tegel\r\n"
    return head + b"In-Reply-To: <r0@x.be>\r\nReferences: " + ids + b"\r\n\r\nNog steeds los.\r\n"


# -- properties of a parse --------------------------------------------------------------------------


def _storable(value: str | None) -> None:
    if value is not None:
        clean_text(value).encode("utf-8")  # what the store writes: no lone surrogate left


def check_parsed(parsed: ParsedMail) -> None:
    internal = [d for d in parsed.defects if d.startswith("internal error")]
    assert not internal, internal  # the last resort is for bugs, and the fuzzer found one
    for name in [a.filename for a in parsed.attachments] + [r.filename for r in parsed.refused]:
        assert name and "/" not in name and "\\" not in name and "\x00" not in name, name
        assert not name.startswith(".") and Path(name).name == name, name
        assert len(name) <= 200, name
    for a in parsed.attachments:
        assert a.data and a.content_type in (
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "image/heic",
            "application/pdf",
        )
    assert parsed.date is None or (parsed.date.tzinfo is not None and 1970 <= parsed.date.year < 2100)
    assert "\x00" not in parsed.text
    for text in (
        parsed.text,
        parsed.full_text,
        parsed.subject,
        parsed.from_name,
        parsed.from_address,
        parsed.message_id,
        parsed.signature,
        parsed.forward_note,
        *parsed.defects,
    ):
        _storable(text)


@UNIT
@given(raw=mutated())
def test_mutated_corpus_mail_parses(raw: bytes) -> None:
    check_parsed(parse_mail(raw))


@UNIT
@given(raw=st.binary(max_size=2_000))
def test_any_bytes_parse(raw: bytes) -> None:
    check_parsed(parse_mail(raw))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_attachment_names_become_bare_names(name: bytes) -> None:
    parsed = parse_mail(attachment_mail(name, PNG))
    check_parsed(parsed)
    assert len(parsed.attachments) + len(parsed.refused) == 1


def test_multiparts_200_deep_are_cut_off_not_a_crash() -> None:
    parsed = parse_mail(nested(200))
    check_parsed(parsed)
    assert any("deeper than" in d for d in parsed.defects)


def test_ten_thousand_parts() -> None:
    parsed = parse_mail(many_parts(10_000))
    check_parsed(parsed)
    assert "Sluikstort" in parsed.text


# -- through a real SMTP session ---------------------------------------------------------------------


@pytest.fixture
async def smtp(client: TestClient[Any, Any], settings: Settings) -> AsyncIterator[int]:
    roomy = settings.model_copy(update={"max_mail_bytes": 2 * 1024 * 1024})  # for the hostile structures
    server = await start_smtp(roomy, mail_intake(client.app), port=free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def _send(port: int, raw: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as session:
        session.ehlo("client.example.be")
        session.mail("an@example.be")
        session.rcpt(MELDPUNT)
        try:
            return session.data(raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error


def _state(conn: Any) -> tuple[set[str], int, set[str], set[str]]:
    ids = set(conn.execute(select(meldingen.c.id)).scalars())
    with_history = conn.execute(select(func.count(func.distinct(status_history.c.melding_id)))).scalar_one()
    shas = set(conn.execute(select(attachments.c.sha256)).scalars())
    raws = {Path(p).name for p in conn.execute(select(inbound_messages.c.raw_path)).scalars() if p}
    return ids, with_history, shas, raws


async def _delivered(client: TestClient[Any, Any], settings: Settings, port: int, raw: bytes) -> None:
    code, reply = await asyncio.to_thread(_send, port, raw)
    assert code == 250 or code >= 500, (code, reply)  # 451 would be the handler failing to store
    assert not reply.startswith(b"Error: ("), reply  # aiosmtpd's generic 500: an exception escaped
    if code >= 500:
        assert len(reply) > 10, reply  # says why
    ids, with_history, shas, raws = await store_of(client).read(_state)
    assert with_history == len(ids)  # every melding whole, with its history
    files = {p.name for p in settings.attachments_dir.rglob("*") if p.is_file()}
    assert files <= shas | raws  # no file nobody refers to
    if code == 250 and re.search(rb"1777-\d{4}-\d{6}", reply):
        assert ids, reply


@SESSION
@given(raw=mutated())
async def test_mutated_mail_over_smtp_is_stored_whole_or_refused(
    client: TestClient[Any, Any], settings: Settings, smtp: int, raw: bytes
) -> None:
    # On the wire as MTAs send it (CRLF); most corpus files have bare LFs, which the listener reads
    # as one overlong line (500 Line too long) and would waste the examples.
    await _delivered(client, settings, smtp, re.sub(rb"\r?\n", b"\r\n", raw))


@pytest.mark.parametrize(
    "raw",
    [
        nested(200),
        many_parts(2_000),
        many_references(40_000),
        *(attachment_mail(n, PNG) for n in HOSTILE_NAMES[:5]),
    ],
    ids=["nested-200", "parts-2000", "references-40000", *(f"name-{n}" for n in range(5))],
)
async def test_hostile_structures_over_smtp(
    client: TestClient[Any, Any], settings: Settings, smtp: int, raw: bytes
) -> None:
    await _delivered(client, settings, smtp, raw)


async def test_an_overlong_message_id_is_no_key(client: TestClient[Any, Any]) -> None:
    """As IMAP reads it (no SMTP line limit): a Message-ID of 4,000 incompressible characters would
    not fit the key's index (PostgreSQL); the mail is kept, keyed by its content instead."""
    noise = base64.b64encode(hashlib.shake_256(b"noise").digest(3000))
    raw = b"Message-ID: <" + noise + b"@example.be>\r\n" + attachment_mail(b"foto.png", PNG)
    assert parse_mail(raw).message_id is None
    outcome = await mail_intake(client.app).accept(raw, envelope_from="an@example.be", source="imap:test")
    again = await mail_intake(client.app).accept(raw, envelope_from="an@example.be", source="imap:test")
    assert outcome.kind == "melding" and again.kind == "duplicate"
