"""At most `open311_rate_limit` POSTs per api_key per minute (gateway.ratelimit): an app in a loop
cannot flood the desk."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from gateway.channels.open311.formats import Open311Error
from gateway.ratelimit import Limit, over_limit


async def check_rate(redis: Redis, queue: str, api_key: str, limit: int) -> None:
    # The key's digest, not the key: Redis keys show up in monitoring and dumps.
    who = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    if await over_limit(redis, queue, Limit("open311", limit, 60), who):
        raise Open311Error(403, f"rate limit: at most {limit} requests per minute for this api_key")
