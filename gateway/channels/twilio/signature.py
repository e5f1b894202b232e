"""Twilio's webhook signature, checked once for every Twilio webhook (SMS, delivery receipts, Voice).

The `X-Twilio-Signature` is the only authentication: it is checked against the configured
public URL (what Twilio signed; a proxy changes the URL the gateway sees), never against the
`To` number, which for a Messaging Service may be any number of its pool.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from aiohttp import web
from twilio.request_validator import RequestValidator, add_port, remove_port

from gateway.appkeys import METRICS, SETTINGS
from gateway.config import Settings
from gateway.intake import IntakeRejected

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signature_valid(settings: Settings, path_qs: str, params: Mapping[str, str], signature: str) -> bool:
    """What twilio's `RequestValidator.validate` decides for a form: valid when the signature is
    that of the URL without its port or with it (Twilio signs either). `validate` always computes
    both; this stops at the first that matches, usually the URL as configured: one HMAC over the
    sorted form instead of two on the SMS webhook's hot path."""
    validator = _validator(settings.twilio_auth_token)
    parsed = urlparse(settings.public_url + path_qs)
    given = signature.encode("utf-8", "surrogatepass")  # whatever the header holds: never a TypeError
    return any(
        hmac.compare_digest(validator.compute_signature(uri, params).encode(), given)
        for uri in (remove_port(parsed), add_port(parsed))
    )


@dataclass(frozen=True)
class TwilioEndpoint:
    """How a Twilio webhook refuses a request: its metrics channel, error code and names for logs."""

    channel: str  # label of gateway_intake_rejected_total
    not_configured: str  # error code of the 503
    name: str  # "the SMS channel": what is not configured
    what: str  # "sms": what is refused, in the log


async def signed_form(request: web.Request, endpoint: TwilioEndpoint) -> dict[str, str]:
    """The form Twilio posted, once its X-Twilio-Signature matches (checked against the public URL).

    IntakeRejected 503 without GATEWAY_TWILIO_AUTH_TOKEN (an empty key would make every forged
    signature valid), 403 for a missing or forged signature (logged and counted)."""
    settings = request.app[SETTINGS]
    if not settings.twilio_auth_token:
        log.error("%s refused: GATEWAY_TWILIO_AUTH_TOKEN is not set", endpoint.what)
        raise IntakeRejected(503, endpoint.not_configured, f"{endpoint.name} is not configured")
    params = await request.post()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not signature_valid(settings, request.path_qs, params, signature):  # type: ignore[arg-type]
        request.app[METRICS].rejected(endpoint.channel, "invalid_signature")
        log.warning(
            "%s refused: %s X-Twilio-Signature (checked against %s)",
            endpoint.what,
            "invalid" if signature else "missing",
            settings.public_url + request.path,
            extra={"path": request.path},
        )
        raise IntakeRejected(403, "invalid_signature", "X-Twilio-Signature is missing or does not match")
    return {k: str(v) for k, v in params.items()}
