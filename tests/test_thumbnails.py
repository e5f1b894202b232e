"""Thumbnails of the tracking page: upright, small, any format the gateway accepts, no metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from gateway.http.thumbnails import THUMBNAIL_PX, UNREADABLE, thumbnail

DATA = Path(__file__).parent / "data" / "attachments"
ORIENTATION = 0x0112


def test_a_real_heic_becomes_a_jpeg() -> None:
    out = Image.open(io.BytesIO(thumbnail(DATA / "tiny.heic")))
    assert out.format == "JPEG" and out.size[0] > 0 and not out.getexif()


def test_the_exif_orientation_is_applied_and_then_dropped(tmp_path: Path) -> None:
    # A phone stores a portrait photo as landscape pixels plus "rotate 90" (orientation 6).
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x013B] = "Bert Maes"  # Artist
    path = tmp_path / "portrait.jpg"
    Image.new("RGB", (1000, 500), (10, 120, 10)).save(path, "JPEG", exif=exif)
    data = thumbnail(path)
    out = Image.open(io.BytesIO(data))
    assert out.size == (THUMBNAIL_PX // 2, THUMBNAIL_PX)  # upright: taller than wide
    assert not out.getexif() and b"Bert Maes" not in data


def test_a_file_that_is_gone_or_no_image_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "not.jpg").write_bytes(b"%PDF-1.4 no image")
    for path in (tmp_path / "gone.jpg", tmp_path / "not.jpg"):
        with pytest.raises(UNREADABLE):
            thumbnail(path)
