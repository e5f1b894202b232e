"""Is this mail written by a person? Bounces, auto-replies, lists and our own mail are not.

Answering an automatic message is how auto-reply loops start (Zammad and Chatwoot
have both shipped them), and a bounce must never become a melding. The checks
read raw header strings (never the policy's parsed header objects, which raise on
some garbled input) and the MIME structure; the first decisive signal wins and is
named in `Automated.reason` for the audit log.

The header helpers live here because both this module and `parse` need them and
`parse` imports this one.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from gateway.channels.email.quotes import strip_reply
from gateway.cleantext import clean_text

__all__ = [
    "Automated",
    "decode_bytes",
    "decode_header_text",
    "detect_automated",
    "first_header",
    "header_values",
    "mime_view",
]


@dataclass(frozen=True)
class Automated:
    kind: str  # "bounce" | "auto_reply" | "mailing_list" | "own_mail" | "bulk"
    reason: str  # which header/pattern decided, e.g. "Auto-Submitted: auto-replied"


# ---------------------------------------------------------------- header text helpers

_FOLD = re.compile(r"\r?\n[ \t]*|\r[ \t]*")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_LATIN_CODECS = {"ascii", "iso8859-1", "iso8859-15", "cp1252"}


def _codec(label: str | None) -> str | None:
    """The Python text codec for a MIME charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").split("*", 1)[0]  # RFC 2231 language suffix
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # codecs.lookup also knows bytes-to-bytes codecs ("base64", "zlib"): not charsets.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_bytes(data: bytes, charset: str | None, defects: list[str], where: str) -> str:
    """Decode with the declared charset, then UTF-8, then windows-1252; never raises."""
    codec = _codec(charset)
    if charset and codec is None:
        defects.append(f"{where}: unknown charset {charset!r}")
    if codec == "iso8859-1":
        codec = "cp1252"  # what senders labelling latin-1 really write (WHATWG decodes it the same way)
    if codec in _LATIN_CODECS and not data.isascii() and _is_utf8(data):
        # Latin text practically never forms valid multi-byte UTF-8: this is a mislabel.
        defects.append(f"{where}: declared {charset} but the content is UTF-8")
        return data.decode("utf-8")
    for attempt in (codec, "utf-8", "cp1252"):
        if attempt is None:
            continue
        text = _decode_or_none(data, attempt)
        if text is None:
            continue
        if attempt != codec and not data.isascii():
            defects.append(f"{where}: decoded as {attempt} (declared {charset or 'no charset'})")
        if "\ufffd" in text and attempt == "utf-8" and not _is_utf8(data):
            defects.append(f"{where}: invalid UTF-8 bytes replaced")
        return text
    defects.append(f"{where}: undecodable bytes replaced (declared {charset or 'no charset'})")
    return data.decode("cp1252", errors="replace")


_ASCII = bytes(range(128))


def _decode_or_none(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        pass
    if codec == "utf-8":
        # UTF-8 with a stray bad byte (a cut-off mail) is still UTF-8: replace the byte only.
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") * 10 <= len(data.translate(None, _ASCII)):
            return text
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Read:
    """What has been read of one message or part: its headers by lowercased name (unfolded and
    decoded once), its MIME view, the addresses of a header. The checks and the parser ask a
    plain mail for about 70 header values, 20 MIME views and the From addresses 4 times: each
    was a scan of every header (and a Message or an address parse) anew, a quarter of
    `parse_mail`'s time. Kept as long as the message lives (`_READ`); a message changed since
    (a header added or removed) is read again."""

    __slots__ = ("size", "headers", "view", "addresses")

    def __init__(self, msg: Message) -> None:
        self.size = len(msg)
        self.headers: dict[str, list[str]] = {}
        for key, value in msg.raw_items():
            unfolded = _FOLD.sub(" ", str(value)).strip()
            self.headers.setdefault(key.lower(), []).append(_undo_surrogates(unfolded))
        self.view: Message | None = None
        self.addresses: dict[str, list[str]] = {}


_READ: weakref.WeakKeyDictionary[Message, _Read] = weakref.WeakKeyDictionary()


def _read(msg: Message) -> _Read:
    found = _READ.get(msg)
    if found is None or found.size != len(msg):
        found = _READ[msg] = _Read(msg)
    return found


def header_values(msg: Message, name: str) -> list[str]:
    """Raw values of a header, unfolded, with 8-bit bytes decoded (UTF-8, else windows-1252)."""
    return list(_read(msg).headers.get(name.lower(), ()))


def _undo_surrogates(value: str) -> str:
    """The parser keeps raw 8-bit header bytes as surrogate escapes: decode them properly."""
    if value.isascii():
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # real characters already (an SMTPUTF8 message parsed as text)
    return _decode_or_none(raw, "utf-8") or raw.decode("cp1252", errors="replace")


def first_header(msg: Message, name: str) -> str | None:
    values = header_values(msg, name)
    return values[0] if values else None


def mime_view(part: Message) -> Message:
    """The part's Content-Type and Content-Disposition in a compat32 message.

    Type, parameters and file name are read through this view: compat32 never raises
    on a garbled header and is several times faster than policy.default's parser
    (which matters for the mail with 3,000 parts). Built once per part: read it, never change it.
    """
    read = _read(part)
    if read.view is None or read.view.get_default_type() != part.get_default_type():
        view = Message()
        for name in ("content-type", "content-disposition"):
            value = first_header(part, name)
            if value is not None:
                view[name] = value
        view.set_default_type(part.get_default_type())
        read.view = view
    return read.view


def decode_header_text(value: str, defects: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words; adjacent words in one charset are joined as bytes first.

    Joining before decoding matters: clients split one UTF-8 character over two encoded words,
    and decoding word by word turns it into two replacement marks. The result is cleaned
    (gateway.cleantext) as every text a stranger sends.
    """
    sink = defects if defects is not None else []
    out: list[str] = []
    pos = 0
    run = b""
    run_charset: str | None = None
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1)
        data = _decode_word(match.group(2).lower(), match.group(3), sink)
        adjacent = run_charset is not None and not gap.strip()
        if adjacent and charset.lower() == (run_charset or "").lower():
            run += data
        else:
            if run_charset is not None:
                out.append(decode_bytes(run, run_charset, sink, "header"))
            if not adjacent:
                out.append(gap)  # whitespace between two encoded words is not text (RFC 2047 6.2)
            run, run_charset = data, charset
        pos = match.end()
    if run_charset is not None:
        out.append(decode_bytes(run, run_charset, sink, "header"))
    out.append(value[pos:])
    return clean_text("".join(out))  # NUL, controls, lone surrogates (raw 8-bit bytes): the one step


def _decode_word(kind: str, payload: str, defects: list[str]) -> bytes:
    try:
        if kind == "b":
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        return quopri.decodestring(payload.encode("utf-8"), header=True)
    except (binascii.Error, ValueError):
        defects.append("header: broken encoded word")
        return payload.encode("utf-8")


def header_addresses(msg: Message, name: str) -> list[str]:
    """Lowercased addr-specs in a header (local part only when the domain is missing)."""
    read = _read(msg)
    found = read.addresses.get(name)
    if found is None:
        found = read.addresses[name] = []
        for value in header_values(msg, name):
            try:
                pairs = getaddresses([value])
            except Exception:  # a pathological header must not stop the checks
                continue
            found.extend(addr.strip().lower() for _, addr in pairs if addr.strip())
    return list(found)


# ---------------------------------------------------------------- the checks

# Not "postmaster": a person answers that role address; its bounces carry other signs too.
_BOUNCE_LOCALPART = re.compile(r"^(mailer[-_]?daemon|mail[-_]?daemon|mail[-_]?delivery)(\b|$)")
_NO_REPLY_LOCALPART = re.compile(r"^(no|do[-_]?not|dont)[-_.]?reply\b")
# Sentences that mail servers write and people do not; one is enough.
_BOUNCE_TEXT = re.compile(
    r"^\s*(final-recipient|diagnostic-code)\s*:\s*(rfc822|smtp|x-)|this is the mail system at host|"
    r"this message was created automatically by mail delivery software|i'm afraid i wasn't able to deliver|"
    r"this is the qmail-send program|delivery to the following recipients? failed|"
    r"the following addresses had permanent fatal errors|delivery has failed to these recipients|"
    r"\b[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}\b|"
    r"^\s*[45]\d\d\b.{0,10}"
    r"(requested action not taken|user unknown|no such user|mailbox (is )?(full|unavailable))",
    re.IGNORECASE | re.MULTILINE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(able|ed)|undelivered mail|returned mail|return(ed)? to sender|"
    r"mail delivery (failed|failure|system)|failure notice|"
    r"delivery (status notification|failure|failed|notification|has failed|report)|"
    r"non[- ]?deliver(y|able)|message (not delivered|delivery failure)|(mail|message) could not be delivered|"
    r"mail system error|warning: could not send message|could not send message|delayed mail|"
    r"onbestelbaar|niet (afgeleverd|bezorgd)|bezorging mislukt|non remis|remise impossible|"
    r"échec de (la )?(remise|distribution)|unzustellbar|nicht zustellbar|mail delivery problem|"
    r"delivery status|bounce notification|email bounce|complaint about message from)",
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?respon(se|der|s)|automatisch antwoord|automatische reply|"
    r"réponse automatique|réponse auto|automatische antwort|out of (the )?office|out-of-office|"
    r"(afwezig|absent|absence|abwesend|abwesenheitsnotiz|vacation|on vacation|away)\s*([:\-]|$)|"
    r"afwezigheidsmelding|afwezigheidsbericht|absence du bureau|message d'absence)",
    re.IGNORECASE,
)
# Exchange and others mark their generated mail with these; any value counts.
_AUTO_REPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-autogenerated",
    "x-ms-exchange-generated-message-source",
)
_PRECEDENCE_KIND = {"auto_reply": "auto_reply", "bulk": "bulk", "junk": "bulk", "list": "mailing_list"}
_REPORT_KIND = {
    "delivery-status": ("bounce", "delivery status notification"),
    "global-delivery-status": ("bounce", "delivery status notification"),
    "disposition-notification": ("auto_reply", "read receipt (disposition notification)"),
    "feedback-report": ("bounce", "ARF feedback report (spam complaint)"),
}
_REPORT_PART_KIND = {
    "message/delivery-status": "delivery-status",
    "message/global-delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "message/feedback-report": "feedback-report",
}


@dataclass(frozen=True)
class _Context:
    own: frozenset[str]
    envelope_from: str | None


def detect_automated(
    msg: Message, *, own_addresses: Iterable[str], envelope_from: str | None
) -> Automated | None:
    """The first signal that this mail was not written by a person, or None.

    Checks run from the most to the least specific, so that `kind` names the best
    explanation (a bounce from a list server is a bounce, not a list post).
    """
    context = _Context(frozenset(a.strip().lower() for a in own_addresses if a and a.strip()), envelope_from)
    for check in _CHECKS:
        try:
            found = check(msg, context)
        except Exception:  # one garbled header must not hide the other signals
            continue
        if found is not None:
            return found
    return None


def _own_mail(msg: Message, context: _Context) -> Automated | None:
    for addr in header_addresses(msg, "from"):
        if addr in context.own:
            return Automated("own_mail", f"From: {addr} is our own address")
    for loop in header_values(msg, "x-loop"):
        if any(a in loop.lower() for a in context.own):
            return Automated("own_mail", f"X-Loop: {loop}")
    return None


def _report_structure(msg: Message, context: _Context) -> Automated | None:
    if mime_view(msg).get_content_type() == "multipart/report":
        report_type = str(mime_view(msg).get_param("report-type") or "").lower()
        if report_type in _REPORT_KIND:
            kind, what = _REPORT_KIND[report_type]
            return Automated(kind, f"{what}: multipart/report; report-type={report_type}")
    # Some MTAs send the report parts without a proper multipart/report wrapper.
    for part in (msg, *_top_parts(msg)):
        ctype = mime_view(part).get_content_type()
        report_type = _REPORT_PART_KIND.get(ctype)
        if report_type is not None:
            kind, what = _REPORT_KIND[report_type]
            return Automated(kind, f"{what}: a {ctype} part")
    return None


def _top_parts(msg: Message, depth: int = 0) -> Iterable[Message]:
    """Parts of the message itself, not of messages attached to it (a forwarded DSN is a forward)."""
    if depth > 3 or not msg.is_multipart():
        return
    payload = msg.get_payload()
    for part in payload if isinstance(payload, list) else ():
        if not isinstance(part, Message):
            continue
        yield part
        if mime_view(part).get_content_maintype() == "multipart":
            yield from _top_parts(part, depth + 1)


def _auto_reply_headers(msg: Message, context: _Context) -> Automated | None:
    for value in header_values(msg, "auto-submitted"):
        if value.split(";", 1)[0].strip().lower() not in ("", "no"):
            return Automated("auto_reply", f"Auto-Submitted: {value}")
    for name in _AUTO_REPLY_HEADERS:
        values = header_values(msg, name)
        if values:
            return Automated("auto_reply", f"{_title(name)}: {values[0]}")
    for value in header_values(msg, "x-auto-response-suppress"):
        # Exchange puts "All" (or OOF) on mail it generates; people's mail does not carry it.
        if re.search(r"\b(all|oof)\b", value, re.IGNORECASE):
            return Automated("auto_reply", f"X-Auto-Response-Suppress: {value}")
    for name in ("precedence", "x-precedence"):
        for value in header_values(msg, name):
            kind = _PRECEDENCE_KIND.get(value.strip().lower())
            if kind is not None:
                return Automated(kind, f"{_title(name)}: {value}")
    return None


def _title(name: str) -> str:
    return "-".join(p.upper() if p in ("ms", "x") else p.capitalize() for p in name.split("-"))


def _bounce_sender(msg: Message, context: _Context) -> Automated | None:
    for addr in header_addresses(msg, "from"):
        if _BOUNCE_LOCALPART.match(addr.split("@", 1)[0]):
            return Automated("bounce", f"From: {addr}")
    if header_values(msg, "x-failed-recipients"):
        return Automated("bounce", "X-Failed-Recipients header")
    return None


def _no_reply_sender(msg: Message, context: _Context) -> Automated | None:
    """A no-reply sender without a human Reply-To is a machine; a web form relaying a citizen is not."""
    senders = header_addresses(msg, "from")
    if not senders or not _NO_REPLY_LOCALPART.match(senders[0].split("@", 1)[0]):
        return None
    reply_to = header_addresses(msg, "reply-to")
    if any(not _NO_REPLY_LOCALPART.match(a.split("@", 1)[0]) for a in reply_to):
        return None
    return Automated("bulk", f"From: {senders[0]} without a Reply-To to answer")


def _bounce_text(msg: Message, context: _Context) -> Automated | None:
    """Bounces from servers that use ordinary headers still speak like servers in the body."""
    # A person forwarding a bounce quotes it: not a bounce. Servers say it in the first lines.
    text = strip_reply(_first_text(msg)[:20000])
    match = _BOUNCE_TEXT.search(text)
    if match is None:
        return None
    return Automated("bounce", f"mail-server text in the body: {' '.join(match.group(0).split())[:80]}")


def _first_text(msg: Message) -> str:
    for part in (msg, *_top_parts(msg)):
        view = mime_view(part)
        ctype = view.get_content_type()
        if ctype == "text/plain" and view.get_content_disposition() != "attachment":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return decode_bytes(data, view.get_content_charset(), [], "body")
        if ctype.startswith("multipart/") and isinstance(part.get_payload(), str):
            return part.get_payload()  # a multipart whose boundary got lost: its raw text
    return ""


def _list_headers(msg: Message, context: _Context) -> Automated | None:
    for name in ("list-id", "list-post", "mailing-list", "x-mailman-version", "x-mlserver", "x-ml-name"):
        values = header_values(msg, name)
        if values:
            return Automated("mailing_list", f"{_title(name)}: {values[0]}")
    if header_values(msg, "list-unsubscribe"):
        return Automated("bulk", "List-Unsubscribe header (newsletter or bulk mail)")
    return None


def _null_sender(msg: Message, context: _Context) -> Automated | None:
    if context.envelope_from is not None:
        if context.envelope_from.strip() in ("", "<>"):
            return Automated("bounce", "null envelope sender <>")
        return None
    # No envelope (IMAP): the delivering server recorded it as Return-Path.
    for value in header_values(msg, "return-path"):
        if value.strip() in ("<>", "< >", ""):
            return Automated("bounce", "Return-Path: <>")
    return None


def _subject(msg: Message, context: _Context) -> Automated | None:
    for value in header_values(msg, "subject"):
        subject = decode_header_text(value).strip()
        if _AUTO_REPLY_SUBJECT.match(subject):
            return Automated("auto_reply", f"Subject: {subject[:80]}")
        if _BOUNCE_SUBJECT.match(subject):
            return Automated("bounce", f"Subject: {subject[:80]}")
    return None


_CHECKS = (
    _own_mail,
    _report_structure,
    _bounce_sender,
    _bounce_text,
    _auto_reply_headers,
    _subject,
    _null_sender,
    _list_headers,
    _no_reply_sender,
)
