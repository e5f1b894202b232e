"""The two kinds of citizen portal feed: DOSIS (the Flemish dossier status service behind Mijn
Burgerprofiel) and a generic signed JSON feed.

What is public of DOSIS (Digitaal Vlaanderen, "API-calls DOSIS" and the DOSIS glossary): a
source organisation ("bron") pushes one dossier status at a time, `POST /api/v2/dosis/dossiers`,
JSON, answered 200 once accepted for (asynchronous) processing; a dossier is known by its bron
and dossier number, carries its status, whether the citizen must act ("actie nodig") and the
agents it concerns, a citizen by national register number. The API is behind the Flemish
government's access management (an OAuth2 access token). The exact JSON schema, the status code
list and the product codes are given to registered sources only: the field names we use are
those of the public glossary, and every name, code, URL and credential is a setting
(config.StatusFeed), so the city fills in what its DOSIS onboarding gives it.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from gateway import texts
from gateway.config import Settings, StatusFeed
from gateway.melding import Melding, Status, StatusChange
from gateway.national_number import scrubbed
from gateway.signing import sign

DOSIS_PATH = "/api/v2/dosis/dossiers"
EVENT_STATUS = "melding.status"


class PushError(Exception):
    """A push that failed: `permanent` when trying again cannot help (a 4xx other than 408/429)."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status  # the feed's HTTP status, when it answered


@dataclass(frozen=True)
class Dossier:
    """One status change of one citizen's melding, as every feed sends it."""

    melding: Melding
    change: StatusChange
    national_register_number: str
    idempotency_key: str  # stable per (status change, feed)
    tracking_url: str


def dossier_of(settings: Settings, melding: Melding, change: StatusChange, **ids: Any) -> Dossier:
    return Dossier(melding, change, tracking_url=f"{settings.public_url}/t/{melding.tracking_token}", **ids)


def _status_error(feed: StatusFeed, status: int, body: str) -> PushError:
    permanent = 400 <= status < 500 and status not in (408, 429)
    return PushError(
        f"feed {feed.name}: HTTP {status}: {scrubbed(body[:300])}", permanent=permanent, status=status
    )


async def _post(
    session: aiohttp.ClientSession, feed: StatusFeed, url: str, body: bytes, headers: dict[str, str]
) -> None:
    try:
        async with session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=aiohttp.ClientTimeout(total=feed.timeout),
        ) as resp:
            if resp.status >= 300:
                raise _status_error(feed, resp.status, await resp.text(errors="replace"))
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise PushError(f"feed {feed.name}: {type(exc).__name__}: {exc}") from exc


class SignedJsonFeed:
    """Our own JSON, signed with the feed's secret exactly as our webhooks (PRODUCT.md)."""

    def __init__(self, feed: StatusFeed, session: aiohttp.ClientSession) -> None:
        self.feed, self.session = feed, session

    async def push(self, dossier: Dossier) -> None:
        m, change = dossier.melding, dossier.change
        payload = {
            "event": EVENT_STATUS,
            "reference": m.reference,
            "national_register_number": dossier.national_register_number,
            "status": change.status.value,
            "status_label": texts.status_label(change.status, texts.language(m.language)),
            "at": change.at.isoformat(),
            "note": change.citizen_note,
            "planned_date": change.planned_date.isoformat() if change.planned_date else None,
            "external_partner": change.external_partner,
            "action_needed": change.status == Status.WACHTEN_OP_ANTWOORD,
            "dienst": m.dienst,
            "tracking_url": dossier.tracking_url,
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {**sign(self.feed.secret, body), "Idempotency-Key": dossier.idempotency_key}
        await _post(self.session, self.feed, self.feed.url, body, headers)


class DosisFeed:
    """DOSIS, with an OAuth2 client-credentials token kept until shortly before it expires."""

    def __init__(self, feed: StatusFeed, session: aiohttp.ClientSession) -> None:
        self.feed, self.session = feed, session
        self._token: str | None = None
        self._expires = 0.0

    def payload(self, dossier: Dossier) -> dict[str, Any]:
        m, change, feed = dossier.melding, dossier.change, self.feed
        waiting = change.status == Status.WACHTEN_OP_ANTWOORD
        data: dict[str, Any] = {
            "Bron": feed.source_uri,
            "DossierNummer": m.reference,
            "DossierNaam": f"Melding {m.reference}",
            "ProductId": feed.product_id,
            "Status": texts.status_label(change.status, "nl"),
            "StatusCode": feed.status_codes.get(change.status.value, change.status.value),
            "StatusDetail": change.citizen_note,
            "DatumStatus": change.at.isoformat(),
            "ActieNodig": waiting,
            "Actie": change.citizen_note if waiting else None,
            "Agenten": [{"Rijksregisternummer": dossier.national_register_number}],
            "DocumentLinkUri": dossier.tracking_url,
        }
        return _renamed(data, feed.field_names)

    async def push(self, dossier: Dossier) -> None:
        body = json.dumps(self.payload(dossier), ensure_ascii=False).encode()
        token = await self._access_token()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": dossier.idempotency_key}
        try:
            await _post(self.session, self.feed, self.feed.url.rstrip("/") + DOSIS_PATH, body, headers)
        except PushError as exc:
            if exc.status == 401:  # revoked or expired early: a new token at the next try
                self._token = None
                raise PushError(str(exc), status=401) from exc
            raise

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        feed = self.feed
        form = {"grant_type": "client_credentials", **({"scope": feed.scope} if feed.scope else {})}
        try:
            async with self.session.post(
                feed.token_url,
                data=form,
                headers={"Authorization": _basic(feed.client_id, feed.client_secret)},
                timeout=aiohttp.ClientTimeout(total=feed.timeout),
            ) as resp:
                if resp.status != 200:
                    # refused credentials are retried too (an operator may fix them), but loudly
                    raise PushError(
                        f"feed {feed.name}: the token endpoint refused our client credentials "
                        f"(HTTP {resp.status}); "
                        "check client_id / client_secret in GATEWAY_STATUS_FEEDS"
                    )
                answer = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise PushError(f"feed {feed.name}: token endpoint: {type(exc).__name__}: {exc}") from exc
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise PushError(f"feed {feed.name}: the token endpoint answered no access_token")
        self._token = token
        self._expires = time.monotonic() + max(0.0, float(answer.get("expires_in", 300)) - 30)
        return self._token


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials, as RFC 6749 (2.3.1) has a client authenticate at the token endpoint."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """Field names as the feed expects them (`field_names`), at every level."""
    if isinstance(value, dict):
        return {names.get(k, k): _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


Feed = SignedJsonFeed | DosisFeed


def build_feed(feed: StatusFeed, session: aiohttp.ClientSession) -> Feed:
    return DosisFeed(feed, session) if feed.kind == "dosis" else SignedJsonFeed(feed, session)
