"""Per-client-IP submission limits in Redis, for the citizen form (no CAPTCHA: a person who reports
a pothole should never have to prove anything).

A fixed window per clock hour: `INCR` on `<queue>:form-rate:<ip>:<hour>` with an expiry, one round
trip. A burst that straddles the hour boundary may pass twice the limit once; that is the price of one
counter instead of a sorted set per IP, and still stops a flood.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from redis import exceptions as redis_errors

from gateway.appkeys import REDIS, SETTINGS

log = logging.getLogger(__name__)
WINDOW = 3600


def client_ip(request: web.Request) -> str:
    """The citizen's address: the peer, or behind `forwarded_for_hops` proxies the X-Forwarded-For entry
    the outermost trusted proxy wrote (entries further left are the client's to forge)."""
    hops = request.app[SETTINGS].forwarded_for_hops
    if hops:
        chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.remote or "unknown"


async def over_limit(request: web.Request, what: str, limit: int) -> bool:
    """Count one more `what` from this client; True when that makes more than `limit` this hour.
    With Redis down the citizen is let through (and it is logged): the store still takes the melding."""
    if limit <= 0:
        return False
    settings = request.app[SETTINGS]
    ip = client_ip(request)
    key = f"{settings.queue_name}:{what}-rate:{ip}:{int(time.time()) // WINDOW}"
    try:
        async with request.app[REDIS].pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, WINDOW).execute()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        log.warning("rate limit not checked, Redis unavailable: %s", exc, extra={"path": request.path})
        return False
    if count > limit:
        log.info("%s over its rate limit (%d an hour)", what, limit, extra={"path": request.path})
        return True
    return False
