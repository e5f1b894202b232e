"""Case-system adapters: where a routed melding goes (a webhook, TOPdesk, ...).

One Protocol, two duties:

- `deliver(event, melding, ...)`: hand over one delivery (`melding.created`, an extra
  reporter's `melding.updated`, a `melding.followup`). The pipeline keeps its deliveries per
  event, with a stable idempotency key each; the adapter turns an event into its own calls
  (the webhook posts it whole; TOPdesk creates an incident, uploads files, adds actions).
- `status_changes(cursor)`: read status changes back. A case system that pushes its changes
  (the webhook's status callbacks) answers None; one that must be polled (TOPdesk) answers a
  page of changes and the cursor to resume from. The poller (workers/case_status.py) and
  the callback endpoint apply them through the same code (gateway.intake.apply_status).

Files go with the event they came with: a new melding's and a follow-up's are the melding's
`attachments` (an adapter uploads those its case lacks); an extra reporter's (a duplicate's own
photos, or those of its reporter's follow-up) are in the event's `extra`, since they belong to
another melding than the case's: `extra_attachments(extra)`. Every adapter uploads both.

An adapter raises `DeliveryError(permanent=..., paused=...)`: the worker retries transient
failures with backoff and marks a delivery dead after its retry budget or at the first permanent
failure; a paused one (the case system refuses our credentials) is retried at the capped interval
without spending its budget, since nothing about the melding is wrong.

A new adapter (say the Dutch ZGW Zaken API) is one module with a class satisfying `CaseSystem`
and one entry in `ADAPTERS` (plus its name in `Settings.case_system`); nothing in the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from gateway.config import ConfigError, Settings
from gateway.melding import Attachment, Melding, StatusUpdate


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool, status: int | None = None, paused: bool = False):
        super().__init__(message)
        self.permanent = permanent and not paused
        self.status = status
        self.paused = paused  # our credentials were refused: wait for the operator, never dead


# 408 and 429 are the case system asking us to come back later; every other 4xx says the request
# itself is wrong and repeating it cannot help.
RETRYABLE_4XX = frozenset({408, 429})


def status_error(message: str, status: int) -> DeliveryError:
    """The error of an HTTP answer that is not a success: permanent for a 4xx other than 408 and
    429, transient otherwise (5xx). One rule for every adapter that speaks HTTP."""
    permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
    return DeliveryError(message, permanent=permanent, status=status)


def extra_attachments(extra: dict[str, Any] | None) -> list[Attachment]:
    """The files an event carries for its case besides the melding's own: an extra reporter's
    photos (`reporter_added.attachments`), or those of a duplicate's reporter's follow-up
    (`followup.attachments`)."""
    found: list[Attachment] = []
    for part in ("reporter_added", "followup"):
        described = (extra or {}).get(part)
        if isinstance(described, dict):
            found += [Attachment.model_validate(a) for a in described.get("attachments") or []]
    return found


@dataclass(frozen=True)
class CaseStatus:
    """One status change read back from the case system, for the melding with this reference."""

    reference: str
    update: StatusUpdate
    case_id: str | None = None


@dataclass(frozen=True)
class StatusPage:
    """What one read of a polled case system gave: its changes, in order, and where to go on."""

    changes: list[CaseStatus] = field(default_factory=list)
    cursor: str | None = None  # stored (gateway.store.cursors) after the changes are applied
    more: bool = False  # another page follows at once


class CaseSystem(Protocol):
    name: str

    async def deliver(
        self, event: str, melding: Melding, *, idempotency_key: str, extra: dict[str, Any] | None = None
    ) -> str | None:
        """Hand the event over; return the case system's own id for the case, when it gives one.
        Safe to repeat with the same key (a crash between "sent" and "recorded" repeats it)."""
        ...

    async def status_changes(self, cursor: str | None) -> StatusPage | None:
        """Changes since `cursor` (None: from the adapter's own start); None when the case system
        pushes its changes to the gateway instead (nothing to poll)."""
        ...


Builder = Callable[[Settings, aiohttp.ClientSession], CaseSystem]


def _webhook(settings: Settings, session: aiohttp.ClientSession) -> CaseSystem:
    from workers.casesystem.webhook import WebhookCaseSystem

    if not settings.case_system_url:
        raise ConfigError("GATEWAY_CASE_SYSTEM_URL is required for GATEWAY_CASE_SYSTEM=webhook")
    return WebhookCaseSystem(
        settings.case_system_url, settings.case_system_secret, session, settings.case_system_timeout
    )


def _topdesk(settings: Settings, session: aiohttp.ClientSession) -> CaseSystem:
    from workers.casesystem.topdesk import TopdeskCaseSystem

    return TopdeskCaseSystem.from_settings(settings, session)


# name (GATEWAY_CASE_SYSTEM) -> builder; imports stay lazy so that an adapter's dependencies
# load only where it is used.
ADAPTERS: dict[str, Builder] = {"webhook": _webhook, "topdesk": _topdesk}


def build_case_system(settings: Settings, session: aiohttp.ClientSession) -> CaseSystem:
    builder = ADAPTERS.get(settings.case_system)
    if builder is None:
        raise ConfigError(
            f"GATEWAY_CASE_SYSTEM={settings.case_system}: no such adapter; use one of {sorted(ADAPTERS)}"
        )
    return builder(settings, session)
