"""Everything arq-specific: job names, job ids, Redis keys, connecting, enqueueing, aborting a
waiting job, and running and stopping a worker. One module, so producers and workers agree,
and so that a change of arq (or of queue) is made here alone.

Job ids are derived from what the job is about: arq refuses a second job with
the id of one still queued, which makes re-enqueueing (by the sweep, by a retry
command) safe to repeat. arq's public API is used where it has one; where it has none
(enqueueing many jobs in one round trip, dropping a deferred job without a worker's help)
this module works on arq's own keys, named by arq's constants.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from arq.connections import ArqRedis, RedisSettings
from arq.constants import expires_extra_ms, in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.asyncio import ConnectionPool

if TYPE_CHECKING:
    from gateway.store import DeliveryRecord

JOB_PROCESS = "process"
JOB_DELIVER = "deliver"
JOB_NOTIFY = "notify"
JOB_SWEEP = "sweep"
JOB_VOICE_SETTLE = "voice_settle"  # a Twilio call that went quiet becomes its melding
JOB_SMS_RESEND = "sms_resend"  # an SMS part Twilio reported undelivered (transient error) is sent again

STATS_KEY = "gateway:stats"  # hash of cross-process counters (deliveries, latency buckets)
ACK_RATE_KEY = "gateway:ack-rate:"  # + sender address: acknowledgements sent this hour
DELIVERY_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

log = logging.getLogger("gateway")


def connect(redis_url: str, queue_name: str) -> ArqRedis:
    """A queue client that connects lazily. (Not arq's create_pool: that refuses to start while
    Redis is down, and intake must keep storing meldingen then; the sweep enqueues them once
    Redis is back.)"""
    return ArqRedis(ConnectionPool.from_url(redis_url), default_queue_name=queue_name)


def process_job_id(melding_id: str) -> str:
    return f"{JOB_PROCESS}:{melding_id}"


def notify_job_id(history_id: int) -> str:
    return f"{JOB_NOTIFY}:{history_id}"


def voice_settle_job_id(call_sid: str) -> str:
    return f"{JOB_VOICE_SETTLE}:{call_sid}"


async def enqueue_voice_settle(redis: ArqRedis, queue: str, call_sid: str, defer: float | None) -> bool:
    """One settle job per call (by its id): False when it is already waiting, which is fine,
    since the job re-defers itself while callbacks keep coming."""
    job = await redis.enqueue_job(
        JOB_VOICE_SETTLE, call_sid, _job_id=voice_settle_job_id(call_sid), _queue_name=queue, _defer_by=defer
    )
    return job is not None


async def cancel_voice_settle(redis: ArqRedis, queue: str, call_sid: str) -> None:
    """The call became a melding: its waiting settle job has nothing left to do. (Should a worker
    have taken it already, it finds the melding and stops.)

    Not arq's `Job.abort`: that needs `allow_abort_jobs` on every worker, makes the deferred job
    due at once only to fail it there, and waits for a worker to do so; here the job is simply
    taken off the queue, and a later settle job of the same call can be enqueued again."""
    job_id = voice_settle_job_id(call_sid)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(queue, job_id)
        pipe.delete(job_key_prefix + job_id)
        await pipe.execute()


async def enqueue_sms_resend(redis: ArqRedis, queue: str, failed_sid: str, defer: float | None) -> bool:
    """One resend job per failed message (keyed on its sid): False when it is already waiting."""
    job = await redis.enqueue_job(
        JOB_SMS_RESEND,
        failed_sid,
        _job_id=f"{JOB_SMS_RESEND}:{failed_sid}",
        _queue_name=queue,
        _defer_by=defer,
    )
    return job is not None


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def enqueue_process(redis: ArqRedis, queue: str, melding_id: str) -> bool:
    """False when that job is already queued (or running)."""
    return await enqueue_many(redis, queue, [(process_job_id(melding_id), JOB_PROCESS, (melding_id,))]) == 1


# Enqueue many arq jobs in one call. Per job: create the job key only if absent (as
# arq's enqueue_job refuses a job id that exists), and queue it only when created.
_ENQUEUE_MANY = """
local created = 0
for i = 3, #ARGV, 2 do
  if redis.call('SET', KEYS[2] .. ARGV[i], ARGV[i + 1], 'PX', ARGV[1], 'NX') then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[i])
    created = created + 1
  end
end
return created
"""


async def enqueue_many(redis: ArqRedis, queue: str, jobs: Sequence[tuple[str, str, tuple[Any, ...]]]) -> int:
    """Enqueue (job id, function, args) triples in one round trip and one command.

    arq's `enqueue_job` spends three round trips and six commands per job to refuse
    duplicates; a server-side script gives the same guarantee for any number of
    jobs. The keys and the serialization are arq's own, so arq workers run these
    jobs as any other. Returns how many jobs were new.
    """
    now = timestamp_ms()
    args: list[object] = [expires_extra_ms, now]
    for job_id, function, job_args in jobs:
        args += [job_id, serialize_job(function, job_args, {}, None, now)]
    script = redis.register_script(_ENQUEUE_MANY)
    return int(await script(keys=[queue, job_key_prefix], args=args))


async def enqueue_process_many(redis: ArqRedis, queue: str, melding_ids: Sequence[str]) -> int:
    """The process jobs of a whole intake batch, in one call."""
    return await enqueue_many(redis, queue, [(process_job_id(m), JOB_PROCESS, (m,)) for m in melding_ids])


async def enqueue_deliveries(redis: ArqRedis, queue: str, deliveries: Sequence[DeliveryRecord]) -> int:
    """The deliver jobs of many deliveries (e.g. revived dead ones), in one call: how many were new."""
    return await enqueue_many(redis, queue, [(d.job_id, JOB_DELIVER, (d.id,)) for d in deliveries])


async def enqueue_delivery(
    redis: ArqRedis, queue: str, delivery: DeliveryRecord, defer: float | None = None
) -> bool:
    job = await redis.enqueue_job(
        JOB_DELIVER, delivery.id, _job_id=delivery.job_id, _queue_name=queue, _defer_by=defer
    )
    return job is not None


# Make deliver jobs due now. Per job: one still in a worker's hands is left alone and reported
# (it may be about to defer itself); one waiting in the queue is brought forward; one absent
# (finished, dropped, lost) is enqueued as enqueue_many would.
_RELEASE = """
local busy = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('EXISTS', KEYS[3] .. id) == 1 then
    table.insert(busy, id)
  elseif redis.call('SET', KEYS[2] .. id, ARGV[i + 1], 'PX', ARGV[1], 'NX') then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[2], id)
  else
    local score = redis.call('ZSCORE', KEYS[1], id)
    if score and tonumber(score) > tonumber(ARGV[2]) then
      redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
    end
  end
end
return busy
"""


async def release_deliveries(
    redis: ArqRedis, queue: str, deliveries: Sequence[DeliveryRecord], *, patience: float = 5.0
) -> list[int]:
    """Make the deliver jobs of these deliveries due now, whether they wait deferred in the queue
    (arq's `enqueue_job` refuses a job id that exists, so enqueueing again would not hurry them)
    or are not queued at all. A job a worker is running just then (it may be deferring itself
    this instant) is tried again for up to `patience` seconds. Returns the ids of deliveries
    still running after that (they are delivering, or their own backoff brings them)."""
    pending = {d.job_id: d for d in deliveries}
    script = redis.register_script(_RELEASE)
    waited = 0.0
    while pending:
        now = timestamp_ms()
        args: list[object] = [expires_extra_ms, now]
        for job_id, d in pending.items():
            args += [job_id, serialize_job(JOB_DELIVER, (d.id,), {}, None, now)]
        busy = await script(keys=[queue, job_key_prefix, in_progress_key_prefix], args=args)
        pending = {k.decode(): pending[k.decode()] for k in busy}
        if not pending or waited >= patience:
            break
        await asyncio.sleep(0.05)
        waited += 0.05
    return [d.id for d in pending.values()]


async def enqueue_notify(redis: ArqRedis, queue: str, melding_id: str, history_id: int) -> bool:
    jobs = [(notify_job_id(history_id), JOB_NOTIFY, (melding_id, history_id))]
    return await enqueue_many(redis, queue, jobs) == 1


def backoff(attempt: int, base: float, cap: float = float("inf")) -> float:
    """Seconds before try `attempt + 1`: exponential with jitter, so that a recovering receiver is
    not hit by every worker at once."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


async def stop_worker(worker: Worker, main_task: asyncio.Task[None], grace: float) -> None:
    """Stop polling, let running jobs finish for up to `grace` seconds, then close.

    (arq's own close() cancels running jobs at once and then fails on their
    cancellation before its shutdown hook runs.) A job cut off here is not lost:
    arq runs it again once its in-progress key expires, and every job is idempotent.
    """
    main_task.cancel()
    await asyncio.gather(main_task, return_exceptions=True)
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        log.info("waiting up to %.0f s for %d running jobs", grace, len(running))
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    worker.tasks.clear()
    await worker.close()
