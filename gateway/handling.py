"""What every HTTP handler shares, the channels' webhooks included: JSON error bodies, the
raw body of a request signed as PRODUCT.md says, and the read token of the API's reads. (The
app's error middleware is in gateway.http.)"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from gateway.intake import IntakeRejected
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def read_token_refusal(request: web.Request, token: str) -> web.Response | None:
    """None when the request carries `Authorization: Bearer <token>`; else the 401 to answer (logged).
    An empty token refuses everyone: reading personal data through the API is off until one is set."""
    given = request.headers.get("Authorization", "")
    scheme, _, credential = given.partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credential.strip().encode(), token.encode())
    ):
        return None
    if not token:
        message = "reading meldingen through the API is off: set GATEWAY_API_READ_TOKEN"
    elif given:
        message = "wrong read token"
    else:
        message = "this needs Authorization: Bearer <GATEWAY_API_READ_TOKEN>"
    log.warning("API read refused: %s", message, extra={"path": request.path})
    refusal = error_body(401, "unauthorized", message)
    refusal.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return refusal


async def signed_body(request: web.Request, secret: str, what: str) -> bytes:
    """The raw body of a request signed as PRODUCT.md says; a 401 JSON error (logged) otherwise."""
    raw = await request.read()
    try:
        verify(secret, raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
    except SignatureError as exc:
        log.warning("%s refused: %s", what, exc, extra={"path": request.path})
        raise IntakeRejected(401, "invalid_signature", str(exc)) from None
    return raw
