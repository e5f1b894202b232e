"""Stand-ins for the citizen portal feeds: DOSIS (an OAuth2 token endpoint and
`POST /api/v2/dosis/dossiers`) and a receiver of our signed JSON feed.

Each checks what the real one would refuse: DOSIS a missing or wrong bearer token (401), client
credentials that are not the registered ones (401 at the token endpoint), a body without the
fields of a dossier status or with an invalid national register number (400); the JSON receiver
a signature that does not verify (401). `fail_next` scripts outages.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.config import Settings, StatusFeed
from gateway.national_number import InvalidNationalNumber, check
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from tests.support.http import serve_app

CLIENT_ID, CLIENT_SECRET = "kortrijk-1777", "dosis-client-secret"
SOURCE_URI = "https://data.kortrijk.be/id/bron/meldpunt-1777"
FEED_SECRET = "portal-feed-secret"
# What a registered source must send in every dossier status (the fields named in DOSIS's public docs)
DOSIS_REQUIRED = ("Bron", "DossierNummer", "Status", "StatusCode", "Agenten")


@dataclass
class FakePortal:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted bodies, in order
    headers: list[dict[str, str]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses to answer, one per request
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    revoke_next: bool = False  # the next dossier's token is revoked (expired early): 401

    def fail_next(self, status: int, times: int = 1) -> None:
        self.failures += [status] * times

    def _refuse(self, status: int, why: str) -> web.Response:
        self.refused.append((status, why))
        return web.json_response({"error": why}, status=status)

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return self._refuse(401, "invalid_client")
        if form.get("grant_type") != "client_credentials":
            return self._refuse(400, "unsupported_grant_type")
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def dossiers(self, request: web.Request) -> web.Response:
        if self.failures:
            return self._refuse(self.failures.pop(0), "scripted failure")
        auth = request.headers.get("Authorization", "")
        if self.revoke_next:
            self.revoke_next = False
            self.tokens.discard(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return self._refuse(401, "invalid_token")
        if request.content_type != "application/json":
            return self._refuse(415, "application/json expected")
        body = await request.json()
        missing = [k for k in DOSIS_REQUIRED if body.get(k) in (None, "", [])]
        if missing:
            return self._refuse(400, f"missing {', '.join(missing)}")
        if body["Bron"] != SOURCE_URI:
            return self._refuse(400, "unknown bron")
        for agent in body["Agenten"]:
            try:
                check(str(agent.get("Rijksregisternummer", "")))
            except InvalidNationalNumber as exc:
                return self._refuse(400, str(exc))
        return self._accept(request, body)

    def _accept(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        self.received.append(body)
        self.headers.append(dict(request.headers))
        return web.json_response({"status": "accepted"})

    async def signed(self, request: web.Request) -> web.Response:
        if self.failures:
            return self._refuse(self.failures.pop(0), "scripted failure")
        raw = await request.read()
        try:
            verify(
                FEED_SECRET, raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER)
            )
        except SignatureError as exc:
            return self._refuse(401, str(exc))
        return self._accept(request, json.loads(raw))


@asynccontextmanager
async def fake_portal() -> AsyncIterator[FakePortal]:
    portal = FakePortal()
    app = web.Application()
    app.router.add_post("/oauth/token", portal.token)
    app.router.add_post("/api/v2/dosis/dossiers", portal.dossiers)
    app.router.add_post("/feed", portal.signed)
    async with serve_app(app) as base:
        portal.url = base
        yield portal


def dosis_feed(portal: FakePortal, **update: Any) -> StatusFeed:
    return StatusFeed(
        **{
            "name": "burgerprofiel",
            "kind": "dosis",
            "url": portal.url,
            "token_url": f"{portal.url}/oauth/token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "source_uri": SOURCE_URI,
            "product_id": "ipdc-1777",
            "timeout": 2.0,
            **update,
        }
    )


def signed_feed(portal: FakePortal, **update: Any) -> StatusFeed:
    return StatusFeed(
        **{
            "name": "stadsapp",
            "kind": "signed_json",
            "url": f"{portal.url}/feed",
            "secret": FEED_SECRET,
            **update,
        }
    )


def with_feeds(settings: Settings, *feeds: StatusFeed) -> Settings:
    return settings.model_copy(update={"status_feeds": list(feeds)})
