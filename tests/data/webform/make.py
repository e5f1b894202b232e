"""Writes the web form tests' photos (run: .venv/bin/python tests/data/webform/make.py)."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def main() -> None:
    # A small "photo" of a loose paving tile: grey pavement, one tilted darker tile.
    photo = Image.new("RGB", (160, 120), (150, 150, 145))
    draw = ImageDraw.Draw(photo)
    for x in range(0, 160, 20):
        draw.line([(x, 0), (x, 120)], fill=(120, 120, 118))
    for y in range(0, 120, 20):
        draw.line([(0, y), (160, y)], fill=(120, 120, 118))
    draw.polygon([(60, 40), (85, 38), (88, 62), (62, 65)], fill=(90, 85, 80))
    photo.save(HERE / "stoeptegel.jpg", "JPEG", quality=80)
    # Too large for the tests' 16 kB per file, within their 64 kB per body: noise does not compress.
    noise = random.Random(1777).randbytes(100 * 100 * 3)
    big = Image.frombytes("RGB", (100, 100), noise)
    big.save(HERE / "groot.png", "PNG")


if __name__ == "__main__":
    main()
