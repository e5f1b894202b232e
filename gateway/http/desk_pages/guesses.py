"""Failed logins under a name that is no account (or a disabled one), counted as the store counts
them for an account (gateway.store.operators.failed), so that the login page locks such a name
after the same number of tries with the same message: otherwise a guesser would learn which names
exist by seeing which ones lock (README "Desk workplace", Login).

The count lives in Redis, shared by every `serve` process, one small hash per name: its key holds a
digest of the name (a password typed in the name field is never stored as such), and expires
`KEEP_SECONDS` after its last failure or lock end, so a flood of invented names costs bounded memory.
The lock's end is stored as a time of `gateway.clock`, not as a Redis expiry, so that it follows the
same clock as an account's `locked_until`.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.queue import LOGIN_FAILURES_KEY
from gateway.store.operators import Lockout

log = logging.getLogger(__name__)

# How long a name's failures are remembered after its last one (or the end of its lock): long enough
# that waiting out a lock does not tell an invented name from an account; short enough to bound memory.
KEEP_SECONDS = 24 * 3600


def _key(name: str) -> str:
    return LOGIN_FAILURES_KEY + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


async def locked(redis: Redis, name: str, now: datetime) -> bool:
    """Whether the name is locked now. Redis unreachable: not locked (there is no account to guard)."""
    try:
        until = await redis.hget(_key(name), "until")
    except RedisError:
        log.warning("desk login: failed-login count of unknown names unreadable (Redis)", exc_info=True)
        return False
    return until is not None and float(until) > now.timestamp()


async def failed(redis: Redis, name: str, lockout: Lockout, now: datetime) -> datetime | None:
    """Count a failure; when the name locks now, until when (as `operators.failed`)."""
    key = _key(name)
    try:
        failures = int(await redis.hincrby(key, "failures", 1))
        until = lockout.until(failures, now)
        keep = KEEP_SECONDS + (until - now).total_seconds() if until is not None else KEEP_SECONDS
        async with redis.pipeline(transaction=True) as pipe:
            if until is not None:
                pipe.hset(key, "until", until.timestamp())
            pipe.expire(key, int(keep))
            await pipe.execute()
    except RedisError:
        log.warning("desk login: failed-login count of unknown names not kept (Redis)", exc_info=True)
        return None
    return until
