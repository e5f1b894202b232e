"""Everything arq-specific: job names, job ids, Redis keys, connecting, enqueueing, aborting a
waiting job, and running (through a Redis outage) and stopping a worker. One module, so
producers and workers agree, and so that a change of arq (or of queue) is made here alone.

Job ids are derived from what the job is about: arq refuses a second job with
the id of one still queued, which makes re-enqueueing (by the sweep, by a retry
command) safe to repeat. arq's public API is used where it has one; where it has none
(enqueueing many jobs in one round trip, dropping a deferred job without a worker's help)
this module works on arq's own keys, named by arq's constants.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import random
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq import worker as arq_worker
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from gateway.config import sentinel_target
from gateway.queue_cohort import COHORTS, Cohort, form, let_slots_add_up, release
from gateway.queue_reclaim import (
    Heartbeat,
    Mark,
    Taker,
    drop_marks,
    reclaim_dead_workers,
    running_key,
    take_jobs,
    take_mark,
    workers_key,
)
from gateway.queue_transactions import batched

if TYPE_CHECKING:
    from gateway.store import DeliveryRecord

JOB_PROCESS = "process"
JOB_DELIVER = "deliver"
JOB_NOTIFY = "notify"
JOB_SWEEP = "sweep"
JOB_VOICE_SETTLE = "voice_settle"  # a Twilio call that went quiet becomes its melding
JOB_STATUS_PUSH = "status_push"  # a status change pushed to a citizen portal (workers/status_feeds)
JOB_SMS_RESEND = "sms_resend"  # an SMS part Twilio reported undelivered (transient error) is sent again

STATS_KEY = "gateway:stats"  # hash of cross-process counters (deliveries, latency buckets)
ACK_RATE_KEY = "gateway:ack-rate:"  # + sender address: acknowledgements sent this hour
THANKS_KEY = "gateway:thanks:"  # + digest of a thank-you page's cookie: the token it may detail (an hour)
LOGIN_FAILURES_KEY = "gateway:desk-login-failures:"  # + digest of a login name that is no account
DELIVERY_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
OUTAGES_FIELD = "worker_redis_outages"  # in STATS_KEY: Redis outages that workers rode out

# What a lost Redis raises (redis-py wraps socket errors in its ConnectionError; BusyLoadingError,
# a Redis still loading its data, is one too).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
)
# arq's worker watches keys: a connection lost while watching raises WatchError (arq catches it
# only where another worker took the job first).
_WORKER_DOWN = (*REDIS_DOWN, redis_errors.WatchError)
RECONNECT_BASE, RECONNECT_CAP = 0.1, 2.0  # seconds between a waiting worker's reconnection tries

log = logging.getLogger("gateway")


def connect(
    redis_url: str,
    queue_name: str,
    *,
    socket_timeout: float | None = None,
    connect_timeout: float | None = None,
) -> ArqRedis:
    """A queue client that connects lazily. (Not arq's create_pool: that refuses to start while
    Redis is down, and intake must keep storing meldingen then; the sweep enqueues them once
    Redis is back.) The timeouts bound every command: a Redis that accepts the connection but never
    answers (hung, or a half-open connection through a firewall) raises redis' TimeoutError instead
    of holding the request forever. Through Sentinel, each new connection asks the Sentinels for the
    current master, so after a failover the client follows the promoted replica."""
    target = sentinel_target(redis_url)
    if target is None:
        pool = ConnectionPool.from_url(
            redis_url, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout
        )
    else:
        sentinels = Sentinel(
            list(target.sentinels),
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout or 1.0,
        )
        pool = SentinelConnectionPool(
            target.master,
            sentinels,
            db=target.db,
            username=target.username,
            password=target.password,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
        )
    return ArqRedis(pool, default_queue_name=queue_name)


def case_status_poll_lock(queue: str) -> str:
    """The Redis lock held by the one worker reading a polled case system's status changes
    (TOPdesk) back; per queue, like the workers' heartbeats."""
    return f"{queue}:case-status-poll"


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
    """arq's settings for the worker: a plain URL, or the Sentinels and master of the Sentinel form."""
    target = sentinel_target(url)
    if target is None:
        return RedisSettings.from_dsn(url)
    return RedisSettings(
        host=list(target.sentinels),
        sentinel=True,
        sentinel_master=target.master,
        database=target.db,
        username=target.username,
        password=target.password,
    )


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


async def enqueue_process_many(
    redis: ArqRedis, queue: str, melding_ids: Sequence[str], notify: Sequence[tuple[str, int]] = ()
) -> int:
    """The process jobs of a whole intake batch, and the notify jobs (melding id, history id) of the
    receipts it acknowledges, in one call."""
    jobs = [(process_job_id(m), JOB_PROCESS, (m,)) for m in melding_ids]
    jobs += [(notify_job_id(h), JOB_NOTIFY, (m, h)) for m, h in notify]
    return await enqueue_many(redis, queue, jobs)


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


async def queue_retry(
    redis: ArqRedis, queue: str, job_id: str, function: str, args: tuple[Any, ...], defer: float | None
) -> bool:
    """Queue a job whose first try ran inside the job before it (the worker runs a melding's
    deliver and notify steps in its process job): arq counts this run as its second try, so
    a job that gives up after N tries still makes N. False when that job is queued already."""
    job = await redis.enqueue_job(
        function, *args, _job_id=job_id, _queue_name=queue, _defer_by=defer, _job_try=2
    )
    return job is not None


WORKER_NAME = "gateway_worker_name"  # the running gateway Worker's name, in each job's ctx


async def mark_running(
    redis: ArqRedis, job_id: str, timeout: float, *, queue: str, worker: str | None
) -> Mark | None:
    """Show a job as running (arq's in-progress key) while another job runs its first try: a
    worker does not start it meanwhile, and `release_deliveries` (like anyone watching the queue)
    sees it busy, as if arq ran it. None when the job is in progress already (a peer took it, say
    queued again by its sweep, or another job marked it): then it must not run here as well.
    `timeout`: when the mark lapses should this process die. `worker` (ctx[WORKER_NAME]): the mark
    carries that worker's name and joins its running set, as `take_jobs` does, so that a peer
    frees it at once when this worker dies."""
    mark = Mark(queue, job_id, worker or f"mark:{uuid.uuid4().hex}", by_worker=bool(worker))
    return mark if await take_mark(redis, mark, int(timeout * 1000)) else None


async def unmark_running(redis: ArqRedis, mark: Mark, *also: Mark) -> None:
    """Take a mark of `mark_running` off (not a key another worker holds since it lapsed), and
    the marks `also` with it in the same round trip."""
    await drop_marks(redis, [mark, *also])


MARKS_AFTER_JOB = "gateway_marks_after_job"  # in a gateway Worker's ctx: job id -> marks to drop


def unmark_after_job(ctx: dict[str, Any], marks: Sequence[Mark]) -> bool:
    """Leave these marks (made inside the job of `ctx`) to the gateway Worker, which takes them
    off in the round trip that takes the job out of its running set once arq finished it: a
    round trip less per job. They are held a moment longer, never dropped earlier. False outside
    a gateway Worker's job: then the caller takes them off itself."""
    pending: dict[str, list[Mark]] | None = ctx.get(MARKS_AFTER_JOB)
    job_id = ctx.get("job_id")
    if pending is None or job_id is None:
        return False
    pending.setdefault(job_id, []).extend(marks)
    return True


async def enqueue_push(
    redis: ArqRedis, queue: str, job_id: str, push_id: int, defer: float | None = None
) -> bool:
    """A status push (gateway.store.pushes; `job_id` is the push's own, stable across retries)."""
    job = await redis.enqueue_job(
        JOB_STATUS_PUSH, push_id, _job_id=job_id, _queue_name=queue, _defer_by=defer
    )
    return job is not None


async def enqueue_notify(redis: ArqRedis, queue: str, melding_id: str, history_id: int) -> bool:
    jobs = [(notify_job_id(history_id), JOB_NOTIFY, (melding_id, history_id))]
    return await enqueue_many(redis, queue, jobs) == 1


def backoff(attempt: int, base: float, cap: float = float("inf")) -> float:
    """Seconds before try `attempt + 1`: exponential with jitter, so that a recovering receiver is
    not hit by every worker at once."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


async def live_workers(redis: Redis, queue: str, ttl: float) -> int:
    """Workers that beat within `ttl` seconds (worker_heartbeat_ttl): connected to Redis and polling."""
    return int(await redis.zcount(workers_key(queue), timestamp_ms() - int(ttl * 1000), "+inf"))


def _retried_on_outage(coroutine: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A job cut off by a Redis outage (its enqueue of the next job, a counter) is tried again, not
    failed with a traceback: every job is idempotent, and arq's retry needs Redis back anyway."""

    @functools.wraps(coroutine)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await coroutine(ctx, *args, **kwargs)
        except REDIS_DOWN as exc:
            raise Retry(defer=RECONNECT_CAP) from exc

    return job


class Worker(arq_worker.Worker):
    """arq's worker, made to ride out a Redis outage: arq's own ends `main()` with the first
    ConnectionError of a poll (and `gateway worker` with it), and cannot start while Redis is down.

    This one waits and reconnects with backoff (RECONNECT_BASE doubling up to RECONNECT_CAP),
    logs the outage once when it starts and once when it ends, and takes up its polling where it
    left it. What Redis forgot meanwhile (it may come back empty) the sweep enqueues again from the
    store. While connected it beats: `live_workers` counts it (/healthz, /metrics), and it runs the
    jobs of a peer that stopped beating again at once (gateway.queue_reclaim).
    """

    def __init__(self, *, heartbeat: Heartbeat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heartbeat = heartbeat
        self.functions = {
            name: dataclasses.replace(f, coroutine=_retried_on_outage(f.coroutine))
            for name, f in self.functions.items()
        }
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._running_key = running_key(self.queue_name, self.name)
        self.ctx[WORKER_NAME] = self.name  # for mark_running: marks made inside a job are ours too
        self._marks_after: dict[str, list[Mark]] = {}
        self.ctx[MARKS_AFTER_JOB] = self._marks_after  # shared by every job's ctx (unmark_after_job)
        self._cohorts: dict[str, Cohort] = {}  # the process jobs of a poll set off together
        self.ctx[COHORTS] = self._cohorts
        self._started_at = 0.0  # when a poll last started jobs
        self._beaten = False  # on the list of live workers at least once
        self._down_since: float | None = None
        self._down_tries = 0
        self._outages_to_count = 0
        self._last_beat = 0.0
        self._polling: asyncio.Future[BaseException | None] | None = None

    def _note_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._down_tries = 0
            self._outages_to_count += 1
            why = f"{type(exc).__name__}: {exc}"
            log.warning("redis unavailable (%s); the worker waits and reconnects", why)

    async def _wait_after(self, exc: BaseException) -> None:
        self._note_down(exc)
        self._down_tries += 1
        await asyncio.sleep(backoff(self._down_tries, RECONNECT_BASE, RECONNECT_CAP))

    def _note_up(self) -> None:
        if self._down_since is not None:
            down = time.monotonic() - self._down_since
            log.info("redis reachable again after %.1f s; the worker resumes", down)
            self._down_since = None
            self._last_beat = 0.0  # beat at once

    async def main(self) -> None:
        while self._pool is None:  # arq's create_pool gives up after a few tries: wait here instead
            try:
                self._pool = await create_pool(
                    dataclasses.replace(self.redis_settings, conn_retries=0),
                    job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer,
                    default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms,
                )
            except REDIS_DOWN as exc:
                await self._wait_after(exc)
        # arq's start and finish transactions of each job then share the jobs' round trip
        self._pool = batched(self._pool)
        self._note_up()
        await super().main()

    async def _poll_iteration(self) -> None:
        # Shielded: stopping the worker cancels `main()`, and a cancellation inside one of this
        # poll's Redis pipelines would leave it holding its connection ("Unclosed Pipeline").
        # The poll finishes on its own; `stop_polling` waits for it.
        started = time.monotonic()
        self._polling = asyncio.ensure_future(self._poll_once())
        error = await asyncio.shield(self._polling)
        if error is None:
            # Only a poll begun after the outage was noted says Redis is back: a job cut off while
            # this poll's round trips were already answered would otherwise end the outage at once
            # ("reachable again after 0.0 s"), and the next poll would tell it a second time.
            if self._down_since is None or started > self._down_since:
                self._note_up()
        else:
            await self._wait_after(error)

    async def _poll_once(self) -> BaseException | None:
        try:
            await super()._poll_iteration()
            if self._down_since is not None:  # a poll with every slot busy asks Redis nothing
                await self.pool.ping()
        except _WORKER_DOWN as exc:
            return exc
        return None

    async def stop_polling(self, main_task: asyncio.Task[None]) -> None:
        """Cancel `main()` (the task running it) and let its last poll finish."""
        main_task.cancel()
        await asyncio.gather(main_task, return_exceptions=True)
        if self._polling is not None:
            await asyncio.gather(self._polling, return_exceptions=True)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's `start_jobs`, but the jobs (as many as there are free slots) are taken in one
        round trip, each marked as this worker's (gateway.queue_reclaim): a peer frees it the
        moment this worker dies, never a job it did not take. The process jobs among them set off
        together (gateway.queue_cohort): their reads, routings and writes batch whole."""
        if let_slots_add_up(self.job_counter, self.max_jobs, time.monotonic() - self._started_at):
            return
        slots = 0
        for _ in job_ids:
            if self.job_counter >= self.max_jobs:
                break  # every slot taken: do not wait for one with the others held unstarted
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                break
            self.job_counter += 1  # arq's slot accounting, as its start_jobs does
            slots += 1
        if not slots:
            return
        self._started_at = time.monotonic()
        taker = Taker(self.queue_name, self.name, int(self.in_progress_timeout_s * 1000))
        # Every id the poll read is offered, `slots` taken: a peer's running jobs are still at the
        # queue's head, and offering only the first `slots` ids left a second worker idle.
        read = [job_id.decode() for job_id in job_ids]
        try:
            scores = await take_jobs(self.pool, taker, read, timestamp_ms(), limit=slots)
        except _WORKER_DOWN:
            # arq gives slots back only when a job's task ends: give these back here.
            for _ in range(slots):
                self._release_sem_dec_counter_on_complete()
            raise
        started = []
        for job_id, score in zip(read, scores, strict=True):
            if score is None:  # not taken: running elsewhere, finished, deferred, or past the slots
                continue
            task = self.loop.create_task(self.run_job(job_id, score))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task
            started.append(job_id)
        for _ in range(slots - len(started)):
            self._release_sem_dec_counter_on_complete()  # the slots no job was taken for
        form(self._cohorts, [j for j in started if j.startswith(f"{JOB_PROCESS}:")])

    async def run_job(self, job_id: str, score: int) -> None:
        """A job whose reading or finishing in Redis fails is not lost: it runs again when its
        in-progress key expires, or (Redis having come back empty) when the sweep finds it."""
        try:
            await super().run_job(job_id, score)
        except _WORKER_DOWN as exc:
            self._note_down(exc)
        finally:
            marks = self._marks_after.pop(job_id, [])
            release(self._cohorts, job_id)
        # Ended (or cut off by an outage: then its in-progress key expires as arq's would); a stale
        # member left by a failure here is harmless, as its in-progress key no longer names us.
        # The marks its steps made (unmark_after_job) go in the same round trip; after an outage
        # they lapse as the job's own key does.
        with suppress(*REDIS_DOWN):
            await drop_marks(self.pool, marks, ended=(self._running_key, job_id))

    async def heart_beat(self) -> None:
        await super().heart_beat()
        if time.monotonic() - self._last_beat < self.heartbeat.interval:
            return
        now = timestamp_ms()
        async with self.pool.pipeline(transaction=False) as pipe:
            pipe.zadd(workers_key(self.queue_name), {self.name: now})
            pipe.pexpire(self._running_key, int(self.in_progress_timeout_s * 1000))
            if self._outages_to_count:
                pipe.hincrby(STATS_KEY, OUTAGES_FIELD, self._outages_to_count)
            added, *_ = await pipe.execute()
        if added and self._beaten:
            log.warning(
                "this worker was missing from the live workers (silent for over %.0f s, or Redis lost "
                "the list); a peer may have run its jobs again",
                self.heartbeat.ttl,
            )
        self._beaten = True
        self._outages_to_count = 0
        self._last_beat = time.monotonic()
        cutoff = now - int(self.heartbeat.ttl * 1000)
        for peer, freed in (await reclaim_dead_workers(self.pool, self.queue_name, cutoff)).items():
            log.warning("worker %s stopped beating; %d of its jobs run again now", peer, freed)

    async def close(self) -> None:
        """As arq's close, but a Redis that is down does not stop the shutdown hook (the store and
        the HTTP session are closed all the same)."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if self._pool is None:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with suppress(*REDIS_DOWN):
            async with self.pool.pipeline(transaction=False) as pipe:
                pipe.delete(self.health_check_key)
                pipe.zrem(workers_key(self.queue_name), self.name)
                pipe.delete(self._running_key)  # every job has ended: none to free
                await pipe.execute()
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None


async def stop_worker(worker: Worker, main_task: asyncio.Task[None], grace: float) -> None:
    """Stop polling, let running jobs finish for up to `grace` seconds, then close.

    (arq's own close() cancels running jobs at once and then fails on their
    cancellation before its shutdown hook runs.) A job cut off here is not lost:
    arq runs it again once its in-progress key expires, and every job is idempotent.
    """
    await worker.stop_polling(main_task)
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        log.info("waiting up to %.0f s for %d running jobs", grace, len(running))
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    worker.tasks.clear()
    await worker.close()
