"""Every error leaves as JSON with a code and a message, never as an HTML page or a trace; and a
request body that does not arrive in time is cut off (408)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis import exceptions as redis_errors

from gateway.appkeys import SETTINGS
from gateway.handling import error_body
from gateway.intake import IntakeRejected
from gateway.store import StoreUnavailable

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
    except StoreUnavailable as exc:
        # An outage, not a bug: one warning per request without a trace, and an answer a client or
        # load balancer can act on. Nothing was stored (the transaction did not commit).
        log.warning("store unavailable: %s", exc, extra={"path": request.path})
        retry_after = request.app[SETTINGS].store_retry_after
        response = error_body(
            503, "store_unavailable", "the store is unavailable; nothing was stored, try again later"
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        # The queue is down or hangs (commands time out, gateway.queue.connect): what needs it now
        # (a status change's notification, a desk decision) was committed and the sweep queues it
        # later; the caller hears to try again rather than a 500 with a trace.
        log.warning("queue unavailable: %s", exc, extra={"path": request.path})
        response = error_body(503, "queue_unavailable", "the queue is unavailable; try again later")
        response.headers["Retry-After"] = str(request.app[SETTINGS].store_retry_after)
        return response
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


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The body must arrive within `http_body_timeout` seconds of the headers. aiohttp has no such
    timeout of its own (its keep-alive timer, gateway.cli.runner, covers the headers): a timer runs
    while the handler works and is disarmed as soon as the body's last byte is in (the payload
    stream's end-of-data callback), so only a client that dribbles its body is cut off, never a
    handler that takes its time after reading it."""
    if not request.body_exists or request.content.is_eof():
        return await handler(request)
    running = True

    def body_in() -> None:
        # A handler that answered before reading the body (a 404, a refused signature) has left the
        # timer's block when aiohttp reads the rest of it: a finished timer cannot be disarmed.
        if running:
            deadline.reschedule(None)

    try:
        async with asyncio.timeout(request.app[SETTINGS].http_body_timeout) as deadline:
            request.content.on_eof(body_in)
            try:
                return await handler(request)
            finally:
                running = False
    except TimeoutError:
        if not deadline.expired():
            raise
        log.info("request body too slow; connection closed", extra={"path": request.path})
        response = error_body(408, "body_timeout", "the request body did not arrive in time")
        response.force_close()
        return response
