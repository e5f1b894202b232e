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


def content_refusal(data: bytes, content_type: str) -> str | None:
    """Why the whole file is not what `content_type` (its sniffed type) says, or None. The first
    bytes are only a claim: an image must decode completely with Pillow (the well-kept imaging
    library; pixel count capped), a PDF must end as a PDF does, and no upload may carry an
    executable anywhere. CPU-bound: call it off the event loop."""
    if (found := _embedded_executable(data)) is not None:
        return found
    if content_type == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            return "not a complete PDF (no end-of-file marker)"
        return None
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}.get(
        content_type
    )
    if fmt is None:
        return None  # HEIC: Pillow cannot decode it; the executable scan above still applies
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return f"an image of {image.width}x{image.height} pixels (limit {MAX_IMAGE_PIXELS})"
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"not a valid {fmt} image ({exc.__class__.__name__})"
    return None
