"""TOPdesk's REST API (`/tas/api`) as the adapter uses it: Basic auth, answers, errors.

Authentication is HTTP Basic with an operator's login name and one of that operator's
application passwords (TOPdesk: Settings > Application passwords), as public integrations do
(Cortex XSOAR's TOPdesk pack, demisto/content Packs/TOPdesk; Tools4ever's HelloID TOPdesk
connectors). What an answer means for a delivery:

- 2xx (206 included: a page with more to follow) is success; a list answered 204 is empty.
- 401 / 403: our credentials or the operator's rights are wrong. Nothing about the melding is:
  the delivery is *paused* (DeliveryError(paused=True), retried at the capped interval without
  spending its retry budget) and the error names the settings to fix.
- 5xx, 408, 429 and network errors or timeouts are transient: retried with backoff.
- Any other 4xx is permanent, with TOPdesk's own error text (its JSON `[{"message": ...}]`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from workers.casesystem import DeliveryError, status_error

CREDENTIALS = "GATEWAY_TOPDESK_USER / GATEWAY_TOPDESK_APP_PASSWORD"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, None for an empty answer

    @property
    def more(self) -> bool:
        """206 Partial Content: TOPdesk has more pages of this list."""
        return self.status == 206

    def items(self) -> list[dict[str, Any]]:
        return [i for i in self.body if isinstance(i, dict)] if isinstance(self.body, list) else []


@dataclass(frozen=True)
class Upload:
    """One file for `POST .../attachments` (multipart part `file`)."""

    filename: str
    content_type: str
    data: bytes
    description: str


def error_text(status: int, text: str) -> str:
    """TOPdesk's own words: its error bodies are `[{"message": ...}, ...]` (or one object)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300] or f"HTTP {status}"
    items = body if isinstance(body, list) else [body]
    messages = [str(i["message"]) for i in items if isinstance(i, dict) and i.get("message")]
    return "; ".join(messages)[:500] if messages else text[:300]


class TopdeskApi:
    def __init__(self, url: str, user: str, password: str, session: aiohttp.ClientSession, timeout: float):
        self.base = url.rstrip("/") + "/tas/api"
        self.headers = {
            "Authorization": aiohttp.encode_basic_auth(user, password),
            "Accept": "application/json",
            "User-Agent": "meldpunt-gateway",
        }
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        upload: Upload | None = None,
    ) -> Answer:
        data: aiohttp.FormData | None = None
        if upload is not None:
            data = aiohttp.FormData()
            data.add_field("file", upload.data, filename=upload.filename, content_type=upload.content_type)
            data.add_field("description", upload.description)
            data.add_field("invisibleForCaller", "true")  # the reporter's own photo: not shown back
        try:
            async with self.session.request(
                method,
                self.base + path,
                json=json_body,
                data=data,
                params=params,
                timeout=self.timeout,
                headers=self.headers,
            ) as resp:
                text = await resp.text(errors="replace")
                status = resp.status
        except TimeoutError:
            raise DeliveryError(
                f"TOPdesk {method} {path}: timed out after {self.timeout.total}s", permanent=False
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(
                f"TOPdesk {method} {path}: connection failed: {exc}", permanent=False
            ) from None
        except asyncio.CancelledError:
            raise
        if 200 <= status < 300:
            try:
                return Answer(status, json.loads(text) if text.strip() else None)
            except ValueError:
                raise DeliveryError(
                    f"TOPdesk {method} {path}: HTTP {status} but not JSON: {text[:200]}", permanent=False
                ) from None
        words = error_text(status, text)
        if status in (401, 403):
            raise DeliveryError(
                f"TOPdesk refused our credentials (HTTP {status}: {words}); check {CREDENTIALS} "
                "(an operator's login name and an application password with the rights for incidents "
                "and persons); deliveries wait meanwhile",
                permanent=False,
                paused=True,
                status=status,
            )
        raise status_error(f"TOPdesk {method} {path}: HTTP {status}: {words}", status)
