"""Photo thumbnails for the tracking page: re-encoded, so no metadata of the original survives.

A phone photo carries EXIF: the GPS position where it was taken (often the reporter's home), the
camera's owner and serial number, the time. Re-encoding the pixels alone into a new JPEG (Pillow
writes no EXIF unless it is handed some) leaves all of that behind; the orientation it held is
applied to the pixels first, so the photo still stands upright.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

THUMBNAIL_PX = 480  # the longer side; enough for a phone screen's width at 2x
_QUALITY = 80
# What opening a stored file can raise: gone (retention), not an image after all, too many pixels.
UNREADABLE: tuple[type[Exception], ...] = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def thumbnail(path: Path) -> bytes:
    """A JPEG of at most THUMBNAIL_PX on its longer side, without any metadata."""
    _register_heif()
    with Image.open(path) as original:
        original.seek(0)  # the first frame of a GIF or WebP animation
        upright = ImageOps.exif_transpose(original)
        upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        pixels = upright.convert("RGB")  # JPEG has no alpha; a new image carries no info dict
    out = io.BytesIO()
    Image.frombytes("RGB", pixels.size, pixels.tobytes()).save(out, "JPEG", quality=_QUALITY, optimize=True)
    return out.getvalue()


def _register_heif() -> None:
    # pillow-heif (already used to check HEIC uploads) lets Image.open read an iPhone's photos.
    import pillow_heif

    pillow_heif.register_heif_opener()
