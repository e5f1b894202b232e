"""Attachments on disk, content-addressed: the same photo sent twice is stored once.

Files are written (atomically, via a temp file and rename) before the melding's
transaction, so a crash can leave an unreferenced file but never a melding whose
attachment is missing.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from gateway.melding import Attachment

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_filename(name: str | None, fallback: str = "bijlage") -> str:
    # Some clients percent-encode the name; decode first so "..%2F" is seen as a path.
    base = os.path.basename(unquote(name or "").replace("\\", "/")).strip()
    base = _UNSAFE.sub("_", base)[:150].strip(" .")
    return base or fallback


def storage_error(exc: OSError) -> str:
    """Why the disk refused a file, for the record and the log: "ENOSPC: No space left on device"."""
    return f"{errno.errorcode.get(exc.errno or 0, type(exc).__name__)}: {exc.strerror or exc}"


class AttachmentStore:
    def __init__(self, root: Path):
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def save(self, data: bytes, *, filename: str | None, content_type: str) -> Attachment:
        return self.save_new(data, filename=filename, content_type=content_type)[0]

    def save_new(self, data: bytes, *, filename: str | None, content_type: str) -> tuple[Attachment, bool]:
        """As `save`, and whether this call wrote the file (False: the same content was there)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        written = not target.exists()
        if written:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        attachment = Attachment(
            filename=safe_filename(filename),
            content_type=content_type,
            size=len(data),
            sha256=digest,
            storage_path=str(target.relative_to(self.root)),
        )
        return attachment, written

    def keep(self, data: bytes, *, filename: str | None, content_type: str) -> tuple[Attachment, bool]:
        """As `save_new`, but a disk that refuses the file (full, over quota, read-only) does not cost
        the melding its text and reporter: the attachment comes back `failed`, with the reason, to
        be recorded with the melding, and the reason is logged. Blocking: call it off the event loop."""
        try:
            return self.save_new(data, filename=filename, content_type=content_type)
        except OSError as exc:
            why = f"not stored: {storage_error(exc)}"
            log.error("attachment %s %s (%s)", safe_filename(filename), why, self.root)
            failed = Attachment(
                filename=safe_filename(filename),
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                storage_path="",
                state="failed",
                error=why,
            )
            return failed, False

    def discard(self, attachments: list[Attachment]) -> None:
        """Remove files this request wrote when no melding came of it (refused, or the store failed).
        Only files `save_new` wrote: content that was there before belongs to another melding."""
        for attachment in attachments:
            (self.root / attachment.storage_path).unlink(missing_ok=True)


# Leading bytes of the types we accept: the declared content type is the sender's
# word, these are the file's.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heic"),
    (b"%PDF-", 0, "application/pdf"),
)


def sniff_content_type(data: bytes) -> str | None:
    for magic, offset, content_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return content_type
    return None


# Executable formats found anywhere in an upload (a picture with a program appended or inside):
# ELF with a valid class/byte order/version, Mach-O with a known CPU type, PE behind its MZ stub.
_EXECUTABLE = re.compile(
    rb"\x7fELF[\x01\x02][\x01\x02]\x01"
    rb"|(?:\xfe\xed\xfa[\xce\xcf]\x00\x00\x00[\x07\x0c]|[\xce\xcf]\xfa\xed\xfe[\x07\x0c]\x00\x00\x00)"
    rb"|(?:\xfe\xed\xfa[\xce\xcf]\x01\x00\x00[\x07\x0c]|[\xce\xcf]\xfa\xed\xfe[\x07\x0c]\x00\x00\x01)"
)
_MZ = re.compile(rb"MZ")
MAX_IMAGE_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded


def _embedded_executable(data: bytes) -> str | None:
    if match := _EXECUTABLE.search(data):
        return f"an executable inside (at byte {match.start()})"
    for match in _MZ.finditer(data):
        at = match.start()
        header = data[at + 0x3C : at + 0x40]
        if len(header) == 4:
            pe = at + int.from_bytes(header, "little")
            if data[pe : pe + 4] == b"PE\x00\x00":
                return f"a Windows executable inside (at byte {at})"
    return None


def content_refusal(data: bytes, content_type: str | None) -> str | None:
    """Why the whole file is not what `content_type` (its sniffed type) says, or None. The first
    bytes are only a claim: an image must decode completely (Pillow, the well-kept imaging library;
    HEIC/HEIF through pillow-heif, libheif's binding; pixel count capped), a PDF must parse whole
    with pypdf and carry nothing that runs (JavaScript, a Launch action, an embedded file), and no
    upload may carry an executable anywhere. A type without such a check is refused: every
    accepted type has one. CPU-bound: call it off the event loop."""
    if (found := _embedded_executable(data)) is not None:
        return found
    if content_type == "application/pdf":
        return _pdf_refusal(data)
    if content_type == "image/heic":
        return _heif_refusal(data)
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}.get(
        content_type or ""
    )
    if fmt is None:
        return f"of a type no whole-file check exists for ({content_type or 'unknown'})"
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return f"an image of {image.width}x{image.height} pixels (limit {MAX_IMAGE_PIXELS})"
            image.load()
    except Exception as exc:  # UnidentifiedImageError, OSError, EOFError, a decompression bomb...
        return f"not a valid {fmt} image ({exc.__class__.__name__})"
    return None


def _heif_refusal(data: bytes) -> str | None:
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        for image in heif:  # every image of the container, not the first only
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                return f"an image of {width}x{height} pixels (limit {MAX_IMAGE_PIXELS})"
            image.load()  # decodes it: a cut or forged stream fails here
    except Exception as exc:  # libheif answers hostile bytes with any error (SyntaxError, EOFError...)
        return f"not a valid HEIC/HEIF image ({exc.__class__.__name__})"
    return None


# What a PDF may not carry: code (JavaScript), an action that starts a program (Launch), a file
# inside (EmbeddedFile, an attachment annotation), or media that runs a player (RichMedia).
_PDF_ACTIVE_KEYS = {"/JavaScript": "JavaScript", "/JS": "JavaScript", "/EmbeddedFile": "an embedded file",
                    "/EmbeddedFiles": "an embedded file", "/RichMedia": "rich media"}  # fmt: skip
_PDF_ACTIVE_VALUES = {"/JavaScript": "JavaScript", "/Launch": "a Launch action",
                      "/EmbeddedFile": "an embedded file", "/FileAttachment": "an embedded file"}  # fmt: skip
_PDF_MAX_OBJECTS = 200_000  # a walk bound: a 10 MB PDF holds far fewer


def _pdf_refusal(data: bytes) -> str | None:
    if b"%%EOF" not in data[-2048:]:
        return "not a complete PDF (no end-of-file marker)"
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return "an encrypted PDF (its content cannot be checked)"
        if len(reader.pages) == 0:
            return "a PDF without pages"
        found = _pdf_active(reader.trailer)
    except Exception as exc:  # pypdf raises more than PyPdfError on hostile bytes: each is a refusal
        return f"not a valid PDF ({exc.__class__.__name__})"
    return f"a PDF with {found}, which is not accepted" if found else None


def _pdf_active(trailer: Any) -> str | None:
    """Every object reachable from the trailer, resolved (so parsed), searched for what runs."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [trailer]
    walked = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            node = node.get_object()
        walked += 1
        if walked > _PDF_MAX_OBJECTS:
            raise ValueError(f"more than {_PDF_MAX_OBJECTS} objects")
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in _PDF_ACTIVE_KEYS:
                    return _PDF_ACTIVE_KEYS[key]
                if key in ("/S", "/Type", "/Subtype") and str(value) in _PDF_ACTIVE_VALUES:
                    return _PDF_ACTIVE_VALUES[str(value)]
                if key != "/Parent":  # the page tree's back links: reached from the top already
                    stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None
