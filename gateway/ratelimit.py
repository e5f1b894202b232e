"""Fixed-window counters in Redis: how often one client (an IP address, an API key) did one thing.

One home for the limits of the public entry points (the web form per IP and hour, Open311 per
api_key and minute): `INCR` on `<queue>:<what>-rate:<who>:<window number>` with an expiry, one
round trip. A burst across a window boundary may pass twice the limit once; that is the price of
one counter instead of a sorted set per client, and still stops a flood. Without Redis no limit
applies (and it is logged): intake keeps storing meldingen while Redis is down, and a limit must
not make that worse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway import clock
from gateway.queue import REDIS_DOWN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    what: str  # names the counter: "form", "open311"
    per_window: int  # 0: no limit
    window: int  # seconds


def resets_in(window: int) -> int:
    """Seconds until the current window of `window` seconds ends and its counters start from zero."""
    return window - int(clock.now().timestamp()) % window


async def over_limit(redis: Redis, queue_name: str, limit: Limit, who: str) -> bool:
    """Count one more `limit.what` by `who`: True when that makes more than allowed in this window."""
    if limit.per_window <= 0:
        return False
    number = int(clock.now().timestamp()) // limit.window
    key = f"{queue_name}:{limit.what}-rate:{who}:{number}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, limit.window).execute()
    except REDIS_DOWN as exc:
        log.warning("%s rate limit not checked, Redis unavailable: %s", limit.what, exc.__class__.__name__)
        return False
    if count > limit.per_window:
        log.info("%s over its rate limit (%d per %d s)", limit.what, limit.per_window, limit.window)
        return True
    return False
