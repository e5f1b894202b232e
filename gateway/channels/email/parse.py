"""Raw mail bytes -> `ParsedMail`: headers, the report text, attachments, and what kind of mail it is.

Pure and I/O-free: the SMTP listener and the IMAP poller call `parse_mail` and decide what to do with
the result. `parse_mail` never raises: whatever cannot be read is replaced, skipped or guessed, and
noted in `defects` for the audit log (a lost mail is worse than a badly decoded one).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import collapse_rfc2231_value

from gateway.attachments import content_refusal, safe_filename, sniff_content_type
from gateway.channels.email import headers, quotes
from gateway.channels.email.automated import (
    Automated,
    decode_bytes,
    decode_header_text,
    detect_automated,
    first_header,
    header_values,
    mime_view,
)
from gateway.channels.email.html import html_to_text
from gateway.channels.email.quotes import find_phone, split_forward, split_signature, strip_reply
from gateway.cleantext import clean_text
from gateway.config_values import CHECKED_ATTACHMENT_TYPES
from gateway.followups import says_done
from gateway.language import text_language

__all__ = ["Automated", "MailAttachment", "ParsedMail", "RefusedAttachment", "html_to_text", "parse_mail"]

# The settings' default (`attachment_types`): the types whose whole content is checked.
DEFAULT_ALLOWED_TYPES = CHECKED_ATTACHMENT_TYPES


@dataclass(frozen=True)
class MailAttachment:
    filename: str  # safe basename (never a path); invented ("bijlage-1.jpg") when missing
    content_type: str  # lowercased main/sub, as sniffed from the content
    data: bytes
    inline: bool  # Content-Disposition inline or referenced by Content-ID
    content_id: str | None


@dataclass(frozen=True)
class RefusedAttachment:
    filename: str
    content_type: str
    size: int
    reason: str


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_address: str | None
    from_name: str | None
    date: datetime | None
    text: str
    full_text: str  # of the forwarded message when there is one (see forward_note for the wrapper)
    language: str | None
    phone: str | None
    attachments: tuple[MailAttachment, ...]
    refused: tuple[RefusedAttachment, ...]
    forwarded_by: str | None
    automated: Automated | None
    defects: tuple[str, ...]
    signature: str | None = None  # the closing block cut from `text` (name, phone, title)
    forward_note: str | None = None  # what the forwarder wrote above a forwarded report


def parse_mail(
    raw: bytes,
    *,
    own_addresses: Iterable[str] = (),
    envelope_from: str | None = None,
    max_attachment_bytes: int = 10 * 1024 * 1024,
    allowed_types: Iterable[str] = DEFAULT_ALLOWED_TYPES,
) -> ParsedMail:
    limits = _Limits(max_attachment_bytes, frozenset(t.lower() for t in allowed_types))
    try:
        return _parse(raw, tuple(own_addresses), envelope_from, limits)
    except Exception as exc:  # includes RecursionError: the last line of "never raises"
        return _unreadable(raw, f"internal error: {type(exc).__name__}: {exc}"[:300])


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    allowed: frozenset[str]


class _Html:
    """An HTML body, converted only when it is the text we use (most mails carry a plain twin)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = html_to_text(self.source)
        return self._text


@dataclass
class _Content:
    """What one message (outer or forwarded) holds, gathered in one walk."""

    texts: list[str | _Html] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[MailAttachment] = field(default_factory=list)
    refused: list[RefusedAttachment] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # attached message/rfc822 parts
    defects: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        texts = (t.text if isinstance(t, _Html) else t for t in self.texts)
        return "\n\n".join(t.strip("\n") for t in texts if t.strip())


@dataclass(frozen=True)
class _Report:
    """The part of a mail that is the report: the mail itself or the message it forwards."""

    sender: headers.Sender
    subject: str
    date: datetime | None
    full_text: str
    attachments: tuple[MailAttachment, ...]
    refused: tuple[RefusedAttachment, ...]
    forwarded_by: str | None = None
    forward_note: str | None = None


# compat32 builds the tree about three times faster than policy.default, which re-parses Content-Type
# on each of the ~30 accesses the feed parser and a walk make per message; every header is read through
# `automated.first_header`/`header_values`/`mime_view`, which decode what they need (SMTP 144 -> 323/s).
_PARSER = BytesParser(policy=policy.compat32)
_HEADER_PARSER = BytesHeaderParser(policy=policy.compat32)
_MAX_DEPTH = 20  # MIME nesting; deeper is an attack or a broken generator
_MAX_FORWARDS = 3


def _parse(raw: bytes, own: tuple[str, ...], envelope_from: str | None, limits: _Limits) -> ParsedMail:
    msg = _PARSER.parsebytes(raw)
    defects: list[str] = []
    automated = detect_automated(msg, own_addresses=own, envelope_from=envelope_from)
    content = _collect(msg, limits)
    report = _outer_report(msg, content, defects)
    if automated is None:
        try:
            report = _forwarded_report(report, content, limits, defects, 0)
        except Exception as exc:  # a broken forwarded part: the mail itself is still the report
            defects.append(f"forwarded message unreadable: {type(exc).__name__}")
    # The one cleaning step, once on the body the parts gave (headers: `decode_header_text`).
    report = _unique_names(replace(report, full_text=clean_text(report.full_text)))
    text, signature = _report_text(report.full_text)
    defects.extend(content.defects)
    defects.extend(_mime_defects(msg))
    return ParsedMail(
        message_id=headers.message_id(first_header(msg, "message-id")),
        in_reply_to=tuple(headers.message_ids(header_values(msg, "in-reply-to"))),
        references=tuple(headers.message_ids(header_values(msg, "references"))),
        subject=report.subject,
        from_address=report.sender.address,
        from_name=report.sender.name,
        date=report.date,
        text=text,
        full_text=report.full_text,
        language=text_language(text, report.subject),
        phone=find_phone(signature or "") or find_phone(text),
        attachments=report.attachments,
        refused=report.refused,
        forwarded_by=report.forwarded_by,
        automated=automated,
        defects=tuple(dict.fromkeys(defects)),
        signature=signature,
        forward_note=report.forward_note,
    )


def _unique_names(report: _Report) -> _Report:
    """Files may share a name ("bijlage-1.jpg"): number the repeats, linearly (names keep their last)."""
    seen: set[str] = set()
    last: dict[str, int] = {}

    def unique(name: str) -> str:
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        candidate, n = name, last.get(name.lower(), 1)  # below its last number, all are taken
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem}-{n}{dot}{ext}"
        seen.add(candidate.lower())
        last[name.lower()] = n
        return candidate

    attachments = tuple(replace(a, filename=unique(a.filename)) for a in report.attachments)
    refused = tuple(replace(r, filename=unique(r.filename)) for r in report.refused)
    return replace(report, attachments=attachments, refused=refused)


def _report_text(full_text: str) -> tuple[str, str | None]:
    return split_signature(strip_reply(full_text))


def _unreadable(raw: bytes, defect: str) -> ParsedMail:
    """What is left when parsing failed outright: the bytes as text, so nothing is lost."""
    text = decode_bytes(raw, None, [], "raw")
    try:  # the headers alone, for threading and the sender
        msg = _HEADER_PARSER.parsebytes(raw)
        message_id, sender = headers.message_id(first_header(msg, "message-id")), headers.sender(msg, [])
    except Exception:
        message_id, sender = None, headers.Sender(None, None)
    return ParsedMail(
        message_id=message_id,
        in_reply_to=(),
        references=(),
        subject="",
        from_address=sender.address,
        from_name=sender.name,
        date=None,
        text=text,
        full_text=text,
        language=None,
        phone=None,
        attachments=(),
        refused=(),
        forwarded_by=None,
        automated=None,
        defects=(defect,),
    )


# ---------------------------------------------------------------- headers


def _outer_report(msg: Message, content: _Content, defects: list[str]) -> _Report:
    return _Report(
        sender=headers.sender(msg, defects),
        subject=headers.subject(msg, defects),
        date=headers.date(first_header(msg, "date"), defects),
        full_text=content.body,
        attachments=tuple(content.attachments),
        refused=tuple(content.refused),
    )


def _mime_defects(msg: Message) -> list[str]:
    found: list[str] = []
    for part in _walk(msg, 0):
        found.extend(type(d).__name__ for d in getattr(part, "defects", ()))
    return found


def _walk(part: Message, depth: int) -> Iterable[Message]:
    yield part
    payload = part.get_payload() if depth < _MAX_DEPTH and part.is_multipart() else None
    for child in payload if isinstance(payload, list) else ():
        if isinstance(child, Message):
            yield from _walk(child, depth + 1)


# ---------------------------------------------------------------- MIME structure


def _collect(msg: Message, limits: _Limits) -> _Content:
    content = _Content()
    _visit(msg, content, limits, 0)
    _mark_referenced_inline(content)
    return content


def _visit(part: Message, content: _Content, limits: _Limits, depth: int) -> None:
    if depth > _MAX_DEPTH:
        content.defects.append(f"MIME nesting deeper than {_MAX_DEPTH} levels: the rest is skipped")
        return
    ctype = _content_type(part)
    if ctype.startswith("multipart/"):
        _visit_multipart(part, ctype, content, limits, depth)
    elif ctype in ("message/rfc822", "message/global"):
        content.messages.append(part)
    elif ctype.startswith("message/") or ctype in _STRUCTURAL_TYPES:
        return  # report parts, external bodies, signatures: structure, not content
    elif ctype in ("text/plain", "text/html") and _disposition(part) != "attachment":
        _add_text(part, ctype, content)
    else:
        _add_attachment(part, ctype, content, limits)


_STRUCTURAL_TYPES = {
    "text/rfc822-headers",
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-encrypted",
}


def _visit_multipart(part: Message, ctype: str, content: _Content, limits: _Limits, depth: int) -> None:
    payload = part.get_payload()
    children = [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
    if not children:
        # A multipart without parts (missing boundary): read what is there as text.
        raw = _payload_bytes(part, content.defects)
        if raw.strip():
            content.texts.append(decode_bytes(raw, _charset(part), content.defects, ctype))
        return
    if ctype == "multipart/encrypted":
        content.defects.append("encrypted mail: its text cannot be read")
    if ctype != "multipart/alternative":
        for child in children:
            _visit(child, content, limits, depth + 1)
        return
    # Alternatives: the text of one (plain preferred), but the files of all (inline photos
    # often live only in the HTML branch).
    branches = []
    for child in children:
        branch = _Content()
        _visit(child, branch, limits, depth + 1)
        branches.append((child, branch))
    chosen = _preferred(branches)
    for _, branch in branches:
        if branch is chosen:
            content.texts.extend(branch.texts)
        content.html.extend(branch.html)
        content.attachments.extend(a for a in branch.attachments if a not in content.attachments)
        content.refused.extend(branch.refused)
        content.messages.extend(branch.messages)
        content.defects.extend(branch.defects)


def _preferred(branches: list[tuple[Message, _Content]]) -> _Content | None:
    for child, branch in branches:
        if _content_type(child) == "text/plain" and branch.body.strip():
            return branch
    for _, branch in reversed(branches):  # the last alternative is the richest (RFC 2046)
        if branch.body.strip():
            return branch
    return None


def _add_text(part: Message, ctype: str, content: _Content) -> None:
    raw = _payload_bytes(part, content.defects)
    text = clean_text(decode_bytes(raw, _charset(part), content.defects, ctype))
    if ctype == "text/html":
        content.html.append(text)
        content.texts.append(_Html(text))
        return
    if (_param(part, "format") or "").lower() == "flowed":
        text = _unflow(text, (_param(part, "delsp") or "").lower() == "yes")
    content.texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a transfer encoding the stdlib chokes on
        defects.append(f"undecodable transfer encoding: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _content_type(part: Message) -> str:
    return mime_view(part).get_content_type()


def _disposition(part: Message) -> str | None:
    return mime_view(part).get_content_disposition()


def _param(part: Message, name: str) -> str | None:
    value = mime_view(part).get_param(name)
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = collapse_rfc2231_value(value)
    return str(value) if value is not None else None


def _charset(part: Message) -> str | None:
    return _param(part, "charset")


def _unflow(text: str, delsp: bool) -> str:
    """Join format=flowed soft line breaks (RFC 3676) so wrapped lines are whole again."""
    out: list[str] = []
    carry: tuple[int, str] | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        body = body[1:] if body.startswith(" ") else body  # space-stuffing
        if carry is not None and carry[0] == depth:
            body = carry[1] + body
        elif carry is not None:
            out.append(">" * carry[0] + (" " if carry[0] else "") + carry[1])
        carry = None
        if body.endswith(" ") and body.rstrip() != "--":
            carry = (depth, body[:-1] if delsp else body)
            continue
        out.append(">" * depth + (" " if depth else "") + body)
    if carry is not None:
        out.append(">" * carry[0] + (" " if carry[0] else "") + carry[1])
    return "\n".join(out)


# ---------------------------------------------------------------- attachments

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
}
# Names that run code when opened, even when the bytes are a harmless picture.
_DANGEROUS_EXTENSIONS = re.compile(
    r"(exe|com|scr|pif|bat|cmd|msi|msp|vbs|vbe|js|jse|wsf|wsh|hta|ps1|psm1|jar|lnk|reg|cpl|dll|sh|"
    r"iso|img|docm|xlsm|pptm|dotm|xlam|zip|rar|7z|gz|tgz|cab|ace|arj|html|htm|svg)"
)
_MAGIC_NAMES = (
    (b"MZ", "a Windows executable"),
    (b"PK\x03\x04", "a ZIP archive (or Office document)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"\x7fELF", "a Linux executable"),
    (b"#!", "a script"),
)


def _add_attachment(part: Message, ctype: str, content: _Content, limits: _Limits) -> None:
    data = _payload_bytes(part, content.defects)
    sniffed = sniff_content_type(data)
    number = len(content.attachments) + len(content.refused) + 1
    name = _filename(part, content.defects) or f"bijlage-{number}{_extension(sniffed or ctype)}"
    reason = _refusal(name, ctype, sniffed, data, limits)
    if reason is not None or sniffed is None:  # (the sniffer not knowing it is a refusal reason)
        content.refused.append(RefusedAttachment(name, sniffed or ctype, len(data), reason or "unknown"))
        return
    inline = _disposition(part) == "inline"
    content.attachments.append(MailAttachment(name, sniffed, data, inline, _content_id(part)))


def _filename(part: Message, defects: list[str]) -> str:
    name = mime_view(part).get_filename() or _param(part, "name")
    if not name:
        return ""
    # Non-standard but common: RFC 2047 words inside the quoted file name.
    return safe_filename(decode_header_text(str(name), defects), fallback="")


def _extension(ctype: str) -> str:
    return _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"


def _refusal(name: str, declared: str, sniffed: str | None, data: bytes, limits: _Limits) -> str | None:
    if not data:
        return "the file is empty"
    if sniffed is None or sniffed not in limits.allowed:
        if declared in limits.allowed:
            what = next((label for magic, label in _MAGIC_NAMES if data.startswith(magic)), None)
            return f"declared {declared} but the content is {what or 'not a recognised image or PDF'}"
        return f"type {declared} is not accepted"
    if len(data) > limits.max_bytes:
        return f"{_size(len(data))} exceeds the {_size(limits.max_bytes)} limit"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if _DANGEROUS_EXTENSIONS.fullmatch(extension):
        return f"file name extension .{extension} is not accepted"
    if (why := content_refusal(data, sniffed)) is not None:
        return f"declared {declared} but the content is {why}"
    return None


def _size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("kB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _content_id(part: Message) -> str | None:
    value = first_header(part, "content-id")
    if not value:
        return None
    return value.strip().strip("<>").strip() or None


def _mark_referenced_inline(content: _Content) -> None:
    """Images the HTML shows by Content-ID are inline even when their disposition says otherwise."""
    html = "\n".join(content.html).lower()
    content.attachments = [
        a
        if a.inline or not a.content_id or f"cid:{a.content_id.lower()}" not in html
        else MailAttachment(a.filename, a.content_type, a.data, True, a.content_id)
        for a in content.attachments
    ]


# ---------------------------------------------------------------- forwarded mail


def _forwarded_report(
    report: _Report, content: _Content, limits: _Limits, defects: list[str], depth: int
) -> _Report:
    """The forwarded message when this mail forwards one (a forward of a forward: the innermost)."""
    if depth >= _MAX_FORWARDS:
        return report
    inner = _attached_message(content.messages[0], defects) if content.messages else None
    # A note saying the forwarded problem is over and reporting another is the forwarder's own report.
    if inner is not None:
        if says_done(report.full_text):
            return report
        inner_content = _collect(inner, limits)
        defects.extend(inner_content.defects)
        forwarded = _from_attached(report, inner, inner_content, defects)
    else:
        inline = split_forward(report.full_text, quotes.subject_says_forward(report.subject))
        if inline is None or says_done(inline[0]):
            return report
        inner_content = _Content()
        forwarded = _from_inline(report, *inline, defects)
    deeper = _forwarded_report(forwarded, inner_content, limits, defects, depth + 1)
    # The first forwarder is who sent it to us, and their note is the one addressed to us.
    return replace(deeper, forwarded_by=forwarded.forwarded_by, forward_note=forwarded.forward_note)


def _attached_message(part: Message, defects: list[str]) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    # Some clients base64-encode the attached message: the parser left it as text.
    raw = _payload_bytes(part, defects)
    return _PARSER.parsebytes(raw) if raw.strip() else None


def _from_attached(report: _Report, inner: Message, content: _Content, defects: list[str]) -> _Report:
    sender = headers.sender(inner, defects)
    return _Report(
        sender=sender if sender.address else report.sender,
        subject=headers.subject(inner, defects) or _unforwarded_subject(report.subject),
        date=headers.date(first_header(inner, "date"), defects) or report.date,
        full_text=content.body,
        attachments=report.attachments + tuple(content.attachments),
        refused=report.refused + tuple(content.refused),
        forwarded_by=report.sender.address,
        forward_note=_note(report.full_text),
    )


def _from_inline(
    report: _Report, note: str, fields: dict[str, str], body: str, defects: list[str]
) -> _Report:
    sender = headers.address(fields["from"], defects) if "from" in fields else headers.Sender(None, None)
    if not sender.address:  # Outlook often shows only the name: keep the forwarder's address
        sender = headers.Sender(report.sender.address, sender.name or report.sender.name)
    return _Report(
        sender=sender,
        subject=" ".join(fields.get("subject", "").split()) or _unforwarded_subject(report.subject),
        date=_quiet_date(fields.get("date")) or report.date,
        full_text=body,
        attachments=report.attachments,
        refused=report.refused,
        forwarded_by=report.sender.address,
        forward_note=_note(note),
    )


def _quiet_date(value: str | None) -> datetime | None:
    """Forwarded headers often carry a localised date ("dinsdag 2 april 2024 10:00"): no defect."""
    return headers.date(value, []) if value else None


def _unforwarded_subject(subject: str) -> str:
    return quotes.FORWARD_SUBJECT.sub("", subject, count=1).strip()


def _note(text: str) -> str | None:
    body, _ = split_signature(strip_reply(text))
    return body or None
