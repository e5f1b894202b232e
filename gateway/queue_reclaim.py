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

from gateway.redis_batch import script_call, send


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


# KEYS[1]: the queue's sorted set, KEYS[2]: the worker's running set. ARGV: now (ms), the
# in-progress timeout (ms), the worker's name, arq's in-progress prefix, how many to take at most,
# then the job ids in queue order. Per job, as arq takes one (due, and not in progress elsewhere),
# but marked as this worker's: its name in the in-progress key, its id in the running set; a job
# in progress elsewhere is passed over and the next one tried, until the limit is taken. Atomic, so
# no WATCH is needed. Returns each job's score, or false for one not taken (or not reached).
_TAKE = """
local out = {}
local taken = 0
local limit = tonumber(ARGV[5])
for i = 6, #ARGV do
  local id = ARGV[i]
  local score = false
  if taken < limit then
    score = redis.call('ZSCORE', KEYS[1], id)
    if score and tonumber(score) <= tonumber(ARGV[1]) and redis.call('EXISTS', ARGV[4] .. id) == 0 then
      redis.call('SET', ARGV[4] .. id, ARGV[3], 'PX', ARGV[2])
      redis.call('SADD', KEYS[2], id)
      taken = taken + 1
    else
      score = false
    end
  end
  out[#out + 1] = score
end
if taken > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return out
"""


@dataclass(frozen=True)
class Taker:
    """Who takes jobs from which queue, for how long (gateway.queue.Worker)."""

    queue: str
    worker: str
    timeout_ms: int


async def take_jobs(
    redis: Redis, taker: Taker, job_ids: list[str], now_ms: int, limit: int | None = None
) -> list[int | None]:
    """Take the due jobs among `job_ids` for `taker` in one round trip (arq takes one job per
    WATCH/MULTI transaction: four round trips a job), at most `limit` (default: all), passing over
    the jobs running elsewhere: each one's score, None for a job not taken (running elsewhere,
    finished, deferred meanwhile, or past the limit). A job stays in the queue while it runs, so
    two workers polling together read the same head; each must take past the other's."""
    script = redis.register_script(_TAKE)
    wanted = len(job_ids) if limit is None else limit
    args = [now_ms, taker.timeout_ms, taker.worker, in_progress_key_prefix, wanted, *job_ids]
    scores = await script(keys=[taker.queue, running_key(taker.queue, taker.worker)], args=args)
    return [None if score is None else int(float(score)) for score in scores]


# KEYS[1]: the job's in-progress key, KEYS[2] (a worker's mark): its running set. ARGV: the
# holder, the timeout (ms), the job id. NX: a job a worker took (take_jobs, arq) or another job
# marked is never marked over: two workers would both run it.
_MARK = """
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 0
end
if #KEYS == 2 then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class Mark:
    """A job shown as running while another job runs its first try (gateway.queue.mark_running)."""

    queue: str
    job_id: str
    holder: str  # the worker's name (a peer frees its marks when it dies), or a token of its own
    by_worker: bool

    def keys(self) -> list[str]:
        marked = [in_progress_key_prefix + self.job_id]
        return [*marked, running_key(self.queue, self.holder)] if self.by_worker else marked


async def take_mark(redis: Redis, mark: Mark, timeout_ms: int) -> bool:
    """Set the mark, unless the job is in progress already (taken or marked elsewhere): False."""
    (taken,) = await send(redis, [script_call(_MARK, mark.keys(), [mark.holder, timeout_ms, mark.job_id])])
    return bool(taken)


# KEYS[1] and ARGV[1]: a running set and the id of a job that ended, to take out of it (or '' and
# ''). Then per mark two KEYS (its in-progress key; its running set, or the in-progress key again
# when it has none) and three ARGV (the holder, the job id, 1 with a set). Only the holder's own
# mark is taken off: once it lapsed, the key may be another worker's, taken since (deleting it
# would let a third start).
_UNMARK_EACH = """
if ARGV[1] ~= '' then
  redis.call('SREM', KEYS[1], ARGV[1])
end
local out = {}
for i = 2, #ARGV, 3 do
  local k = (i - 2) / 3 * 2 + 2
  if redis.call('GET', KEYS[k]) == ARGV[i] then
    redis.call('DEL', KEYS[k])
    if ARGV[i + 2] == '1' then
      redis.call('SREM', KEYS[k + 1], ARGV[i + 1])
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""


async def drop_marks(redis: Redis, marks: list[Mark], *, ended: tuple[str, str] | None = None) -> list[bool]:
    """Take each mark off, if it is still its own, in one round trip (a deliver step drops its
    notify step's mark with its own): for each, False when it lapsed (and maybe was taken).
    `ended`: (a worker's running set, a job of it that ended) to take out of that set in the
    same round trip (the marks its steps made are dropped when it ends)."""
    keys: list[str] = [ended[0] if ended else ""]
    args: list[str | int] = [ended[1] if ended else ""]
    for mark in marks:
        marked = mark.keys()
        keys += [marked[0], marked[-1]]
        args += [mark.holder, mark.job_id, int(mark.by_worker)]
    (dropped,) = await send(redis, [script_call(_UNMARK_EACH, keys, args)])
    return [bool(n) for n in dropped]
