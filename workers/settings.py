"""arq worker settings, built from the gateway's settings.

`worker_options(settings)` gives the keyword arguments of `arq.Worker`
(`gateway worker` and `gateway up` build the worker from them).

Throughput: arq polls Redis every `poll_delay` seconds for due jobs (0.5 s by
default), and takes at most `max_jobs` at a time; with the default a worker
tops out near 200 jobs/s here. A 20 ms poll and 50 concurrent jobs keep a
worker busy while costing an idle worker ~50 cheap Redis calls a second.
"""

from __future__ import annotations

import gc
import math
from typing import Any

import aiohttp
from arq import cron
from arq.worker import func

from gateway import texts
from gateway.classify.router import build_router
from gateway.classify.rules import RuleRouter
from gateway.config import Settings
from gateway.dedupe import DuplicateFinder
from gateway.dedupe.finder import load_deduper
from gateway.dedupe.service import StoreDuplicateFinder
from gateway.queue import (
    JOB_DELIVER,
    JOB_NOTIFY,
    JOB_PROCESS,
    JOB_SMS_RESEND,
    JOB_STATUS_PUSH,
    JOB_VOICE_SETTLE,
    redis_settings,
)
from gateway.store import Store
from workers import case_status, jobs, retention, sms_resend, status_feeds, voice
from workers.casesystem import build_case_system
from workers.ctx import WorkerState


def _sweep_schedule(interval: int) -> dict[str, Any]:
    if interval < 60:
        return {"second": set(range(0, 60, interval))}
    return {"minute": set(range(0, 60, max(1, interval // 60))), "second": {0}}


def deliver_max_tries(settings: Settings) -> int:
    """arq's limit on the tries of one deliver job. arq counts tries in Redis; the store counts
    delivery attempts (which survive a Redis restart) and decides when a delivery is dead, so
    arq's limit must lie beyond what the retry budget can use: the doubling backoff up to its cap,
    then one try per capped interval (at its shortest, -20% jitter) for `delivery_retry_for`
    seconds; twice that, as an extra reporter's job first waits (re-deferred) for its master's
    case as long as the master's own delivery may take. (Should a job still run out of tries,
    or arq's day-long job key expire, the sweep enqueues the delivery again.)"""
    doubling = max(0, math.ceil(math.log2(settings.delivery_backoff_max / settings.delivery_backoff_base)))
    capped = math.ceil(settings.delivery_retry_for / (0.8 * settings.delivery_backoff_max))
    tries = doubling + capped + 1
    if settings.delivery_max_attempts:
        tries = min(tries, settings.delivery_max_attempts)
    return 2 * tries + 5


def worker_options(
    settings: Settings, *, router: RuleRouter | None = None, duplicates: DuplicateFinder | None = None
) -> dict[str, Any]:
    """`router` and `duplicates` replace the configured ones (tests, benchmarks)."""

    async def startup(ctx: dict[str, Any]) -> None:
        # What can fail on a bad configuration comes first, before anything needs closing.
        rules = router or await build_router(settings)  # rules + the current model (trained if none)
        deduper = None if duplicates else load_deduper(settings)  # dedupe_file, street_register_file
        texts.environment(settings.templates_dir)  # the city's own message templates (TextsError)
        # Worker commits need not wait for the disk: its jobs are idempotent and the sweep
        # redoes what a power cut might undo (see gateway.store.core).
        store = Store(
            settings.database_url,
            timezone=settings.timezone,
            reference_prefix=settings.reference_prefix,
            durable=False,
            on_loop=True,  # the worker's loop is its store's only user (gateway.store.core)
        )
        await store.open()
        session = aiohttp.ClientSession()
        try:
            case_system = build_case_system(settings, session)
        except Exception:
            await session.close()
            await store.close()
            raise
        ctx["gateway"] = WorkerState(
            settings=settings,
            store=store,
            router=rules,
            duplicates=StoreDuplicateFinder(deduper, store) if deduper else duplicates,
            case_system=case_system,
            session=session,
            templates=settings.templates_dir,
        )
        gc.collect()
        gc.freeze()  # the model and registers need no collecting (see gateway.cli.runner)

    async def shutdown(ctx: dict[str, Any]) -> None:
        state: WorkerState | None = ctx.get("gateway")
        if state is not None:
            await state.session.close()
            await state.store.close()

    deliver_tries = deliver_max_tries(settings)
    timeout = int(jobs.job_timeout(settings))
    return {
        "functions": [
            # A melding's process job delivers and notifies too (one arq job instead of three);
            # a deliver job (a retry, a follow-up) notifies too. Each step stays its own job
            # when it must wait (workers.jobs._then).
            # Their timeouts add up the budgets of the steps they run (process, deliver, notify).
            func(jobs.process_through, name=JOB_PROCESS, max_tries=10, timeout=3 * timeout),
            func(jobs.deliver_through, name=JOB_DELIVER, max_tries=deliver_tries, timeout=2 * timeout),
            func(jobs.notify, name=JOB_NOTIFY, max_tries=10),
            # re-deferred (a Retry) each time a call had callbacks since: more tries than a call has callbacks
            func(voice.settle, name=JOB_VOICE_SETTLE, max_tries=50),
            func(sms_resend.resend, name=JOB_SMS_RESEND, max_tries=10),  # gives up itself at its 5th try
            # the store's attempts and budget decide when a push is dead, as for a delivery
            func(status_feeds.push, name=JOB_STATUS_PUSH, max_tries=deliver_tries, timeout=timeout),
        ],
        "cron_jobs": [
            cron(jobs.sweep, run_at_startup=True, unique=True, **_sweep_schedule(settings.sweep_interval)),
            cron(
                sms_resend.sweep_resends,
                run_at_startup=True,
                unique=True,
                **_sweep_schedule(settings.sweep_interval),
            ),
            # status changes of a polled case system (TOPdesk); one worker at a time (a Redis lock)
            cron(
                case_status.poll_case_status,
                run_at_startup=True,
                unique=True,
                **_sweep_schedule(settings.case_system_poll_interval),
            ),
            cron(
                status_feeds.sweep_pushes,
                run_at_startup=True,
                unique=True,
                **_sweep_schedule(settings.sweep_interval),
            ),
            cron(
                voice.sweep_calls,
                run_at_startup=True,
                unique=True,
                **_sweep_schedule(settings.sweep_interval),
            ),
            # daily; one worker runs it (unique), the others find its lock
            cron(retention.retention, unique=True, timeout=retention.TIMEOUT, **retention.RUN_AT),
        ],
        "redis_settings": redis_settings(settings.redis_url),
        "queue_name": settings.queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay,
        "job_timeout": timeout,
        "keep_result": 0,  # results are in the store; arq's copies would only fill Redis
        "max_tries": 10,
        "handle_signals": False,
    }
