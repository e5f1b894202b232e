"""At most `open311_rate_limit` POSTs per api_key per minute (a fixed window in Redis): an app in a
loop cannot flood the desk. Without Redis the limit is not applied: intake stores meldingen while
Redis is down (the sweep queues them later), and a limit must not make that worse."""

from __future__ import annotations

import hashlib
import logging

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from gateway import clock
from gateway.channels.open311.formats import Open311Error

log = logging.getLogger(__name__)


async def check_rate(redis: Redis, queue: str, api_key: str, limit: int) -> None:
    if limit == 0:
        return
    minute = int(clock.now().timestamp() // 60)
    # The key's digest, not the key: Redis keys show up in monitoring and dumps.
    key = f"{queue}:open311-rate:{hashlib.sha256(api_key.encode()).hexdigest()[:16]}:{minute}"
    try:
        count = await redis.incr(key)
        if count == 1:
            await redis.expire(key, 120)
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        log.warning("Open311 rate limit not applied: %s", exc)
        return
    if count > limit:
        raise Open311Error(403, f"rate limit: at most {limit} requests per minute for this api_key")
