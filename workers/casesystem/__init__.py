"""Case-system adapters: where a routed melding goes (a webhook, TOPdesk, ...).

An adapter raises `DeliveryError(permanent=...)`: the worker retries transient
failures with backoff and marks a melding dead after its retry budget or at
the first permanent failure.
"""

from __future__ import annotations

from typing import Any, Protocol

import aiohttp

from gateway.config import ConfigError, Settings
from gateway.melding import Melding


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class CaseSystem(Protocol):
    name: str

    async def deliver(
        self, event: str, melding: Melding, *, idempotency_key: str, extra: dict[str, Any] | None = None
    ) -> str | None:
        """Hand the melding over; return the case system's own id for it, when it gives one."""
        ...


def build_case_system(settings: Settings, session: aiohttp.ClientSession) -> CaseSystem:
    if settings.case_system == "webhook":
        from workers.casesystem.webhook import WebhookCaseSystem

        if not settings.case_system_url:
            raise ConfigError("GATEWAY_CASE_SYSTEM_URL is required for GATEWAY_CASE_SYSTEM=webhook")
        return WebhookCaseSystem(
            settings.case_system_url, settings.case_system_secret, session, settings.case_system_timeout
        )
    raise ConfigError(
        f"GATEWAY_CASE_SYSTEM={settings.case_system}: this adapter is not available in this version; "
        "use 'webhook'"
    )
