"""A local stand-in for Twilio's REST API: the Messages resource and MMS media.

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`: HTTP basic auth must be the configured
  account sid and auth token (401 with Twilio's error JSON otherwise); `To` and `Body` are
  required (400, codes 21604 / 21602, as Twilio answers); answers 201 with a Message resource
  (sid "SM" + 32 hex, status "queued"). Every form field of an accepted message, `StatusCallback`
  included, is kept in `messages` with its `sid`. `fail_next` scripts failures (500, 429, or a 400
  with a Twilio code such as 21610), one per request.
- `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}`: basic auth
  required; answers the bytes registered with `add_media`, or a 307 to `/cdn/...` on the same
  server, which records the headers it gets (it must never see an Authorization header).
"""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from PIL import Image

from gateway.config import Settings
from tests.support.http import serve_app

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"
OUR_NUMBER = "+3256277777"


def twilio_settings(settings: Settings, fake: FakeTwilio, **update: Any) -> Settings:
    """The gateway configured for Twilio, its REST API being `fake`."""
    return settings.model_copy(
        update={
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_number": OUR_NUMBER,
            "twilio_api_url": fake.url,
            **update,
        }
    )


MEDIA_PATH = "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}"


def jpeg(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def png(colour: tuple[int, int, int] = (30, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    """A minimal valid one-page PDF, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body


def error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


@dataclass
class Media:
    data: bytes
    content_type: str
    redirect: bool = True  # as Twilio: a redirect to the CDN


@dataclass
class FakeTwilio:
    url: str = ""
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[dict[str, str]] = field(default_factory=list)  # accepted messages, in order
    requests: int = 0  # every request to Messages.json, answered or not
    # per request in order: (HTTP status, Twilio code) to fail with, or None to answer normally
    failures: list[tuple[int, int] | None] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)  # by MediaSid
    media_failures: dict[str, list[int]] = field(default_factory=dict)  # MediaSid -> statuses to answer
    media_requests: list[dict[str, Any]] = field(default_factory=list)
    cdn_requests: list[dict[str, str]] = field(default_factory=list)

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        self.failures += [(status, code or (20429 if status == 429 else 20500))] * times

    def add_media(self, data: bytes, content_type: str, *, redirect: bool = True) -> str:
        sid = "ME" + secrets.token_hex(16)
        self.media[sid] = Media(data, content_type, redirect)
        return sid

    def media_url(self, message_sid: str, media_sid: str, origin: str = "https://api.twilio.com") -> str:
        return origin + MEDIA_PATH.format(account=self.account_sid, message=message_sid, media=media_sid)

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def create_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            return error(401, 20003, "Authenticate")
        form = await request.post()
        if self.failures and (scripted := self.failures.pop(0)) is not None:
            status, code = scripted
            return error(status, code, "Scripted failure")
        if not form.get("To"):
            return error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        return web.json_response(self._resource({k: str(v) for k, v in form.items()}), status=201)

    def _resource(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        self.messages.append({**form, "sid": sid})
        now = format_datetime(datetime.now(UTC))
        body = form["Body"]
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    async def get_media(self, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["media"]
        self.media_requests.append({"sid": sid, "headers": dict(request.headers)})
        if not self._authorized(request):
            return error(401, 20003, "Authenticate")
        if self.media_failures.get(sid):
            return error(self.media_failures[sid].pop(0), 20500, "Scripted failure")
        if sid not in self.media:
            return error(404, 20404, "The requested resource was not found")
        if self.media[sid].redirect:
            raise web.HTTPTemporaryRedirect(f"/cdn/{sid}")
        return self._serve(sid)

    async def cdn(self, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["media"]
        self.cdn_requests.append(dict(request.headers))
        if sid not in self.media:
            return web.Response(status=404)
        return self._serve(sid)

    def _serve(self, sid: str) -> web.Response:
        media = self.media[sid]
        return web.Response(body=media.data, content_type=media.content_type)


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    """The server on a free port; test modules wrap it in a fixture."""
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", fake.create_message)
    app.router.add_get(
        MEDIA_PATH.format(account="{account}", message="{message}", media="{media}"), fake.get_media
    )
    app.router.add_get("/cdn/{media}", fake.cdn)
    async with serve_app(app) as url:
        fake.url = url
        yield fake
