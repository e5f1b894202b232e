"""Every error leaves as JSON with a code and a message, never as an HTML page or a trace."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.intake import IntakeRejected
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except IntakeRejected as exc:
        extra = {"fields": exc.fields} if exc.fields else ({"field": exc.field} if exc.field else {})
        log.info("request refused: %s", exc.message, extra={"path": request.path, "code": exc.code})
        return error_body(exc.status, exc.code, exc.message, **extra)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        return error_body(413, "body_too_large", f"request body exceeds the limit of {limit} bytes")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_body(
            exc.status,
            code,
            exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason,
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "internal_error", "internal error; it has been logged")
