"""Per-client-IP submission limits for the citizen form (no CAPTCHA: a person who reports a pothole
should never have to prove anything): the client's address, counted per clock hour by
gateway.ratelimit."""

from __future__ import annotations

from aiohttp import web

from gateway import ratelimit
from gateway.appkeys import REDIS, SETTINGS
from gateway.ratelimit import Limit

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


async def over_limit(request: web.Request, what: str, per_hour: int) -> bool:
    """Count one more `what` from this client's address; True when that is over `per_hour`."""
    settings = request.app[SETTINGS]
    limit = Limit(what, per_hour, WINDOW)
    return await ratelimit.over_limit(request.app[REDIS], settings.queue_name, limit, client_ip(request))
