"""Reading an SMTP DATA section off the wire, for the listener (`smtp.MeldpuntSMTP`).

aiosmtpd 1.4.6 reads DATA in pieces ended by CRLF and removes a leading dot from each piece
before any hook sees the bytes. Two consequences this module exists for:

- a mail whose lines end with a bare LF (Python's smtplib given bytes, scripts) is one "line"
  up to the next CRLF, and is refused with `500 Line too long` once it passes 1,000 bytes;
- `<CRLF>.<LF>` loses its dot before a hook could see it, so a smuggled end of data cannot be
  found afterwards.

Here the data is read line by line at every LF, with the bytes around each line known: the line
length limit counts each line, the size limit the whole, a lone "." line next to a bare LF or CR
is found as it arrives, and the reader's buffer never holds more than one line.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

_CRLF = b"\r\n"

TOO_LONG = "500 5.5.2 Line too long (see RFC 5321 4.5.3.1.6)"
TOO_MUCH = "552 5.3.4 Error: too much mail data"
SMUGGLED = "554 5.6.11 end-of-data sequence with bare LF or CR inside the message (SMTP smuggling)"


@dataclass(frozen=True)
class Data:
    """What the client sent: the content without its dot-stuffing, or the reply refusing it."""

    content: bytes
    refused: str | None = None


def _smuggled(after_crlf: bool, line: bytes) -> bool:
    """A lone "." line that another server may take for the end of the data: <LF>.<LF>,
    <LF>.<CRLF>, <CRLF>.<LF>, or <CR>.<CR> anywhere."""
    lone_dot = line.startswith(b".\n") if after_crlf else line in (b".\n", b".\r\n")
    return lone_dot or b"\r.\r" in line


async def read_data(reader: asyncio.StreamReader, *, size_limit: int | None) -> Data:
    """Read up to <CRLF>.<CRLF> (the only end of data, RFC 5321 4.1.1.4), to the end even when
    refused, so that the session goes on with the next command. A line longer than the reader's
    limit is refused; more than `size_limit` bytes is refused (what was kept is dropped at once)."""
    kept = bytearray()
    size = 0
    refused: str | None = None
    before = _CRLF  # the last two bytes read: the DATA command's line ended with CRLF
    partial = False  # inside a line longer than the reader's limit
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as exc:
            # consume what is buffered and read on: the rest of this line is no line start
            line = await reader.read(max(exc.consumed, 1))
            refused = refused or TOO_LONG
            kept.clear()
            partial = True
        else:
            starts_line, partial = not partial, False
            if starts_line and before == _CRLF and line == b".\r\n":
                break
            if refused is None and starts_line and _smuggled(before == _CRLF, line):
                refused = SMUGGLED
        size += len(line)
        if refused is None and size_limit and size > size_limit:
            refused = TOO_MUCH
        if refused is None:
            # dot-stuffing undone at every line: smtplib stuffs a dot after a bare LF too
            kept += line[1:] if line.startswith(b".") else line
        elif kept:
            kept.clear()
        before = (before + line)[-2:]
    return Data(b"" if refused else bytes(kept), refused)
