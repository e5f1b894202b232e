"""Makes the tiny files beside this script (see SOURCE.txt). Run from the repository root:
`.venv/bin/python tests/data/attachments/make.py`. The output is committed: the tests read the files,
they never run this."""

from __future__ import annotations

import io
from pathlib import Path

import pillow_heif
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

HERE = Path(__file__).resolve().parent


def _pdf(writer: PdfWriter) -> bytes:
    writer.add_metadata({"/Producer": "meldpunt tests", "/CreationDate": "D:20260101000000Z"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    return writer


def opening(action: dict[str, str]) -> PdfWriter:
    """A blank page that runs `action` when opened (/OpenAction): names start with a slash."""
    writer = blank()
    value = {
        NameObject(k): NameObject(v) if v.startswith("/") else TextStringObject(v) for k, v in action.items()
    }
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(DictionaryObject(value))
    return writer


def main() -> None:
    (HERE / "tiny.pdf").write_bytes(_pdf(blank()))
    (HERE / "javascript.pdf").write_bytes(_pdf(opening({"/S": "/JavaScript", "/JS": "app.alert('test');"})))
    with_file = blank()
    with_file.add_attachment("factuur.txt", b"an embedded file")
    (HERE / "embedded-file.pdf").write_bytes(_pdf(with_file))
    (HERE / "launch.pdf").write_bytes(_pdf(opening({"/S": "/Launch", "/F": "calc.exe"})))
    heic = pillow_heif.from_pillow(Image.new("RGB", (16, 16), (200, 30, 30)))
    out = io.BytesIO()
    heic.save(out, quality=50)
    (HERE / "tiny.heic").write_bytes(out.getvalue())


if __name__ == "__main__":
    main()
