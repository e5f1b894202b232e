"""The web form tests' data and helpers (tests/test_web_form*.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import CookieJar, FormData, web
from aiohttp.test_utils import TestClient, TestServer

from tests.support.data import ROOT
from tests.support.http import free_port

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


def citizen_client(app: web.Application) -> TestClient[Any, Any]:
    """A test client that keeps cookies as a citizen's browser does: its Secure ones too (the tests'
    public_url is https, so the thank-you page's cookie is Secure), though the test server speaks
    plain http, as browsers do for the loopback, which they count a secure origin."""
    port = free_port()
    jar = CookieJar(unsafe=True, treat_as_secure_origin=f"http://127.0.0.1:{port}")
    return TestClient(TestServer(app, port=port), cookie_jar=jar)
