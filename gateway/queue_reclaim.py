"""Jobs of a dead worker run again at once, not after arq's in-progress timeout.

arq marks a running job with an in-progress key that expires job_timeout + 10 s after the job
started (70 s and more here); a worker killed mid-job (SIGKILL, OOM, a lost machine) leaves its
jobs locked that long. So each gateway worker (gateway.queue.Worker) writes its name into the
in-progress key of every job it takes, and the job's id into a set of its own
(`running_key`), in the same transaction; both outlive the worker by at most arq's in-progress
timeout. A live worker that finds a peer's heartbeat older than the TTL deletes the in-progress
keys that still carry that peer's name (not one another worker has taken since), then drops the
peer's set and its heartbeat: arq's next poll starts those jobs again. Every job is idempotent
(workers/jobs.py), which makes running a dead worker's job again safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis


@dataclass(frozen=True)
class Heartbeat:
    """How often a worker beats (seconds), and how long a silent one still counts as alive
    (settings worker_heartbeat_interval and worker_heartbeat_ttl)."""

    interval: float
    ttl: float


def workers_key(queue: str) -> str:
    """A sorted set: the name (host:pid) of each worker on this queue by its last heartbeat (ms)."""
    return f"{queue}:workers"


def running_key(queue: str, worker: str) -> str:
    """A set: the ids of the jobs this worker took and has not finished."""
    return f"{queue}:worker-jobs:{worker}"


# KEYS[1]: the workers' sorted set. ARGV: the cutoff (ms; older heartbeats are dead), the prefix
# of the running sets, arq's in-progress prefix. Atomic, so two live workers never both reclaim
# the same peer. Returns name, jobs freed, name, jobs freed, ...
_RECLAIM = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, name in ipairs(dead) do
  local set = ARGV[2] .. name
  local freed = 0
  for _, id in ipairs(redis.call('SMEMBERS', set)) do
    if redis.call('GET', ARGV[3] .. id) == name then
      redis.call('DEL', ARGV[3] .. id)
      freed = freed + 1
    end
  end
  redis.call('DEL', set)
  redis.call('ZREM', KEYS[1], name)
  table.insert(out, name)
  table.insert(out, freed)
end
return out
"""


async def reclaim_dead_workers(redis: Redis, queue: str, cutoff_ms: int) -> dict[str, int]:
    """Free the jobs of every worker on `queue` whose last beat is at or before `cutoff_ms`:
    {worker name: how many of its jobs will run again}."""
    script = redis.register_script(_RECLAIM)
    found = await script(
        keys=[workers_key(queue)], args=[cutoff_ms, running_key(queue, ""), in_progress_key_prefix]
    )
    return {found[i].decode(): int(found[i + 1]) for i in range(0, len(found), 2)}
