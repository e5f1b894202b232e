"""What every HTTP handler shares, the channels' webhooks included: JSON error bodies and the
raw body of a request signed as PRODUCT.md says. (The app's error middleware is in gateway.http.)"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.intake import IntakeRejected
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


async def signed_body(request: web.Request, secret: str, what: str) -> bytes:
    """The raw body of a request signed as PRODUCT.md says; a 401 JSON error (logged) otherwise."""
    raw = await request.read()
    try:
        verify(secret, raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
    except SignatureError as exc:
        log.warning("%s refused: %s", what, exc, extra={"path": request.path})
        raise IntakeRejected(401, "invalid_signature", str(exc)) from None
    return raw
