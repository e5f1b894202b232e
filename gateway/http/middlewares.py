"""Every error leaves as JSON with a code and a message, never as an HTML page or a trace."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.handling import error_body
from gateway.intake import IntakeRejected

log = logging.getLogger(__name__)

# Headers of the exception's own text body, replaced by those of the JSON body.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
        response = error_body(
            exc.status,
            code,
            exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason,
        )
        # What the exception says beyond its body stays: a 405's Allow, a 401's WWW-Authenticate.
        for name, value in exc.headers.items():
            if name.lower() not in _BODY_HEADERS:
                response.headers.add(name, value)
        return response
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "internal_error", "internal error; it has been logged")
