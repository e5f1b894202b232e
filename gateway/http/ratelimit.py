"""Per-client-IP limits on the citizen's pages (no CAPTCHA: a person who reports a pothole should
never have to prove anything), keyed by the client's address:

- form submissions, counted per clock hour by gateway.ratelimit;
- guessed tokens: the pages reachable by a melding's token (`/t/{token}` and its twins,
  `/bedankt/{token}`) share one count of unknown tokens, so no page of them is a free oracle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from gateway import ratelimit
from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.melding import Melding
from gateway.queue import REDIS_DOWN
from gateway.ratelimit import Limit
from gateway.store import meldingen

log = logging.getLogger(__name__)

WINDOW = 3600
MISS_KEY = "gateway:tracking-miss:"  # + client address: unknown tokens asked in the current window


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


def resets_in() -> int:
    """Seconds until the hourly counters of `over_limit` start again from zero (at the clock hour)."""
    return ratelimit.resets_in(WINDOW)


@dataclass(frozen=True)
class Guessing:
    """This client missed `tracking_miss_limit` times: every token page answers 429 for `retry_after` s."""

    retry_after: int

    @property
    def minutes(self) -> int:
        """The wait as the 429 page says it: whole minutes, rounded up."""
        return -(-self.retry_after // 60)


async def melding_by_token(request: web.Request) -> Melding | Guessing | None:
    """The melding of the URL's `token`; None for an unknown token (counted as a miss); Guessing
    when this client already missed too often, for a valid token too (else a hit would stand out)."""
    settings = request.app[SETTINGS]
    key = MISS_KEY + client_ip(request)  # behind a proxy too (forwarded_for_hops)
    redis = request.app[REDIS]
    try:
        misses = int(await redis.get(key) or 0)
        if misses >= settings.tracking_miss_limit:
            return Guessing(max(int(await redis.ttl(key)), 1))
    except REDIS_DOWN as exc:
        # The page matters more than the limit; the tokens are unguessable without it too.
        log.warning("tracking miss limit not checked: %s", exc.__class__.__name__)
    melding = await request.app[STORE].read(meldingen.by_token, request.match_info["token"])
    if melding is not None:
        return melding
    try:
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.incr(key).expire(key, settings.tracking_miss_window, nx=True).execute()
    except REDIS_DOWN as exc:
        log.warning("tracking miss not counted: %s", exc.__class__.__name__)
    log.info("tracking token unknown")  # never the token: a real one mistyped is still a secret
    return None
