"""Job names, job ids and Redis keys: one module, so producers and workers agree.

Job ids are derived from what the job is about: arq refuses a second job with
the id of one still queued, which makes re-enqueueing (by the sweep, by a retry
command) safe to repeat.
"""

from __future__ import annotations

from collections.abc import Sequence

from arq.connections import ArqRedis, RedisSettings
from arq.constants import expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

JOB_PROCESS = "process"
JOB_DELIVER = "deliver"
JOB_NOTIFY = "notify"
JOB_SWEEP = "sweep"

STATS_KEY = "gateway:stats"  # hash of cross-process counters (deliveries, latency buckets)
DELIVERY_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def process_job_id(melding_id: str) -> str:
    return f"{JOB_PROCESS}:{melding_id}"


def notify_job_id(history_id: int) -> str:
    return f"{JOB_NOTIFY}:{history_id}"


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def enqueue_process(redis: ArqRedis, queue: str, melding_id: str) -> bool:
    """False when that job is already queued (or running)."""
    job = await redis.enqueue_job(
        JOB_PROCESS, melding_id, _job_id=process_job_id(melding_id), _queue_name=queue
    )
    return job is not None


async def enqueue_process_many(redis: ArqRedis, queue: str, melding_ids: Sequence[str]) -> None:
    """Enqueue the process jobs of a whole intake batch in one round trip.

    arq's `enqueue_job` spends three round trips per job (WATCH, EXISTS, MULTI) to
    refuse duplicates; with set-if-absent on both keys a single pipelined
    transaction gives the same guarantee for any number of jobs. The keys and the
    serialization are arq's own, so arq workers run these jobs as any other.
    """
    now = timestamp_ms()
    async with redis.pipeline(transaction=True) as pipe:
        for melding_id in melding_ids:
            job_id = process_job_id(melding_id)
            job = serialize_job(JOB_PROCESS, (melding_id,), {}, None, now)
            pipe.set(job_key_prefix + job_id, job, px=expires_extra_ms, nx=True)
            pipe.zadd(queue, {job_id: now}, nx=True)
        await pipe.execute()


async def enqueue_notify(redis: ArqRedis, queue: str, melding_id: str, history_id: int) -> bool:
    job = await redis.enqueue_job(
        JOB_NOTIFY, melding_id, history_id, _job_id=notify_job_id(history_id), _queue_name=queue
    )
    return job is not None
