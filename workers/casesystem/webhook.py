"""The webhook adapter, exactly as PRODUCT.md specifies it.

`POST` JSON `{"event": ..., "melding": {...}}`, signed with
`GATEWAY_CASE_SYSTEM_SECRET`, with an `Idempotency-Key` that is stable per
melding and event so that a receiver can drop our retries. Status changes come back
pushed, as signed callbacks (`POST /api/v1/meldingen/{reference}/status`): nothing to poll.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from gateway.melding import Melding
from gateway.signing import sign
from workers.casesystem import DeliveryError, StatusPage, status_error


class WebhookCaseSystem:
    name = "webhook"

    def __init__(self, url: str, secret: str, session: aiohttp.ClientSession, timeout: float):
        self.url = url
        self.secret = secret
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def body(self, event: str, melding: Melding, extra: dict[str, Any] | None) -> bytes:
        payload: dict[str, Any] = {"event": event, "melding": melding.case_payload()}
        if extra:
            payload.update(extra)
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    async def deliver(
        self, event: str, melding: Melding, *, idempotency_key: str, extra: dict[str, Any] | None = None
    ) -> str | None:
        body = self.body(event, melding, extra)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "User-Agent": "meldpunt-gateway",
            **sign(self.secret, body),
        }
        try:
            async with self.session.post(self.url, data=body, headers=headers, timeout=self.timeout) as resp:
                text = await resp.text(errors="replace")
                status = resp.status
        except TimeoutError:
            raise DeliveryError(f"timed out after {self.timeout.total}s", permanent=False) from None
        except (aiohttp.ClientError, asyncio.CancelledError, OSError) as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise DeliveryError(f"connection failed: {exc}", permanent=False) from None
        if 200 <= status < 300:
            return _case_id(text)
        raise status_error(f"HTTP {status}: {text[:300]}", status)

    async def status_changes(self, cursor: str | None) -> StatusPage | None:
        return None  # the receiver pushes them (status callbacks)


def _case_id(text: str) -> str | None:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None
    if isinstance(data, dict):
        for key in ("case_id", "id", "number"):
            if isinstance(data.get(key), str | int):
                return str(data[key])
    return None
