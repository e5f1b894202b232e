"""The web form tests' data and helpers (tests/test_web_form*.py)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import FormData

from tests.support.data import ROOT

DATA = ROOT / "tests" / "data" / "webform"
PHOTO_FILE = DATA / "stoeptegel.jpg"
BIG_PNG = DATA / "groot.png"
PHOTO = ("stoeptegel.jpg", PHOTO_FILE.read_bytes(), "image/jpeg")
SCRIPT = "Losse tegel <script>alert('xss')</script> aan de kerk"


def form_data(*, photos: Sequence[tuple[str, bytes, str]] = (), **fields: str) -> FormData:
    """The multipart body a browser sends for the form: its fields, then the photo input (with no
    file chosen a browser still sends that part, with an empty name and no bytes)."""
    fields.setdefault("lang", "nl")
    data = FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    for filename, content, content_type in photos or [("", b"", "application/octet-stream")]:
        data.add_field("photos", content, filename=filename, content_type=content_type)
    return data


def thanks_token(location: str) -> str:
    """The tracking token of a thank-you page's path (`/bedankt/<token>`)."""
    assert location.startswith("/bedankt/"), location
    return location.removeprefix("/bedankt/")
