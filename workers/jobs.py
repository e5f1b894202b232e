"""The worker's jobs: process (MMS media, route, dedupe hook), deliver, notify, and the sweep.

Every job is safe to run twice: it reads the melding's state from the store and
does only what is still missing. That is what lets the sweep re-enqueue freely.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from arq import Retry

from gateway import clock
from gateway.config import Settings
from gateway.melding import EVENT_CREATED, Melding, RoutingDecision, Stage, StatusChange
from gateway.metrics import count, record_delivery
from gateway.queue import (
    ACK_RATE_KEY,
    JOB_DELIVER,
    JOB_NOTIFY,
    REDIS_DOWN,
    WORKER_NAME,
    Mark,
    backoff,
    enqueue_many,
    enqueue_notify,
    enqueue_process,
    mark_running,
    notify_job_id,
    queue_retry,
    unmark_after_job,
    unmark_running,
)
from gateway.queue import enqueue_delivery as queue_delivery
from gateway.queue_cohort import together
from gateway.store import DeliveryRecord, attempts, deliveries, meldingen, notifications
from gateway.store import duplicates as duplicates_store
from gateway.store import media as media_store
from workers import duplicates, media, sms, status_feeds
from workers.casesystem import DeliveryError
from workers.ctx import redis, retry_delay, state
from workers.notify import (
    NOT_RELEVANT,
    RULES,
    SMS,
    NotificationError,
    Rule,
    by_sms,
    render_email,
    send_email,
)

log = logging.getLogger("workers")


async def enqueue_delivery(ctx: dict[str, Any], delivery: DeliveryRecord, defer: float | None = None) -> bool:
    return await queue_delivery(redis(ctx), state(ctx).settings.queue_name, delivery, defer)


async def process(ctx: dict[str, Any], melding_id: str) -> str:
    """Route the melding and queue its first delivery (a job of its own)."""
    stage, delivery, _, _ = await _process(ctx, melding_id)
    if delivery is not None:
        await enqueue_delivery(ctx, delivery)
    return stage


async def process_through(ctx: dict[str, Any], melding_id: str) -> str:
    """The worker's process job: `process`, then the melding's own `melding.created` delivered
    and its status change notified in this same job, as the deliver and notify jobs would.
    One arq job per melding instead of three: arq's own work per job (poll, in-progress key,
    job read, finish) is paid once. What cannot be done here (a retry, an extra reporter's
    update that waits for its master's case) becomes the job it would have been (`_then`).
    The process jobs a poll took set off together (`together`): their reads, routings and
    writes then batch whole (gateway.queue_cohort, workers.cohort)."""
    await together(ctx)
    stage, delivery, routed_now, routed = await _process(ctx, melding_id)
    if delivery is None:
        return stage
    # An extra reporter's update waits for its master's case (whose delivery releases that job);
    # a melding routed before may have its deliver job queued already (its id refuses a second).
    if not routed_now or duplicates.is_reporter_update(delivery):
        await enqueue_delivery(ctx, delivery)
        return stage
    step: Callable[..., Awaitable[str]] = deliver_through
    if routed is not None and delivery.melding_id == routed.id:  # routed just now: no re-read
        step = functools.partial(_deliver_through, held=(delivery, routed))
    outcome = await _then(ctx, JOB_DELIVER, delivery.job_id, (delivery.id,), step)
    return f"{stage}, {outcome}"


async def _then(
    ctx: dict[str, Any],
    function: str,
    job_id: str,
    args: tuple[Any, ...],
    step: Callable[..., Awaitable[str]],
) -> str:
    """Run the next job's function now, as that job's first try, holding that job's in-progress
    key meanwhile as arq would (`mark_running`): no worker starts the job while it runs here, and
    a reporter update released or a delivery watched sees it running. A job in progress already
    (a peer's sweep queued it again and a peer took it) is not run here a second time: it is
    queued, should it not be, and left to whoever holds it. A Retry queues the job for its second
    try when it asks; any other error hands the step to the job itself (arq's handling, a failure
    logged), so that nothing is lost that the job would have done."""
    s = state(ctx)
    queue = s.settings.queue_name
    timeout = 2 * job_timeout(s.settings) + 10  # a deliver step's notify runs within it
    mark = await mark_running(redis(ctx), job_id, timeout, queue=queue, worker=ctx.get(WORKER_NAME))
    if mark is None:
        await enqueue_many(redis(ctx), queue, [(job_id, function, args)])
        return f"{function} running elsewhere"
    # A step run within this one (the deliver step's notify step) leaves its mark to be taken
    # off with this one's, in one round trip: held a moment longer, never dropped earlier.
    enclosing: list[Mark] | None = ctx.get(_INNER_MARKS)
    inner: list[Mark] = []
    try:
        return await step({**ctx, "job_id": job_id, "job_try": 1, _INNER_MARKS: inner}, *args)
    except Retry as retry:
        defer = retry.defer_score / 1000 if retry.defer_score else None
        await queue_retry(redis(ctx), queue, job_id, function, args, defer)
        return f"{function} retrying"
    except REDIS_DOWN:
        raise  # the enclosing job is retried (every step is idempotent); queueing would fail too
    except Exception:
        log.exception("%s failed within the job before it; queued as its own job", function)
        await queue_retry(redis(ctx), queue, job_id, function, args, None)
        return f"{function} queued"
    finally:  # only after queueing a retry: the job is always seen running or queued
        if enclosing is not None:
            enclosing += [mark, *inner]
        elif not unmark_after_job(ctx, [mark, *inner]):  # the worker drops them as the job ends
            with suppress(*REDIS_DOWN):
                await unmark_running(redis(ctx), mark, *inner)


_INNER_MARKS = "gateway_inner_marks"  # in a step's ctx: the marks of the steps it runs, for `_then`


def job_timeout(settings: Settings) -> float:
    """arq's job_timeout of the worker (workers.settings)."""
    return max(60.0, settings.case_system_timeout * 3)


async def _process(
    ctx: dict[str, Any], melding_id: str
) -> tuple[str, DeliveryRecord | None, bool, Melding | None]:
    """Route a received melding: the stage it is at, the delivery to run next (if any), whether
    it was routed just now, and if so the melding as routed (when the finder gives it)."""
    s = state(ctx)
    melding = await s.store.read_grouped(meldingen.get, melding_id)
    if melding is None:
        log.error("process: no melding %s in the store", melding_id)
        return "missing", None, False, None
    # the photos of an MMS go to the case system with it; then they may have changed since the read
    settled = await _settle_media(ctx, melding)
    if melding.stage == Stage.RECEIVED:
        stage, delivery, routed = await _route(ctx, melding)
        return stage, delivery, True, None if settled else routed
    if melding.stage == Stage.ROUTED:  # routed before, but its delivery job may be lost
        return melding.stage.value, await duplicates.first_delivery(ctx, melding), False, None
    return melding.stage.value, None, False, None


async def _settle_media(ctx: dict[str, Any], melding: Melding) -> bool:
    """Fetch the MMS media still pending (workers/media.py); True for a melding that may have them
    (an SMS melding, or one whose reporter chose SMS and may reply with an MMS), whose attachments
    may have changed since it was read. While one failed transiently, the job is tried again
    later: the melding waits for its photos."""
    if not by_sms(melding):
        return False
    settled = await media.settle(ctx, melding)
    if settled.waiting:
        raise Retry(defer=retry_delay(ctx))
    return True


async def _route(ctx: dict[str, Any], melding: Melding) -> tuple[str, DeliveryRecord | None, Melding | None]:
    s = state(ctx)
    if melding.dienst:  # the channel knew (an IVR choice, an info call) or the desk chose: keep it
        # the desk's routed_by ("desk:<name>") and the model's top three it chose from stay
        by = melding.routed_by or f"channel:{melding.channel}"
        decision = RoutingDecision(melding.dienst, 1.0, by, tuple(melding.alternatives))
    else:
        decision = await s.routing.route(melding.text, melding.subject)  # with its cohort's
    # Routing, location, duplicate link and the first delivery (a duplicate: its master's
    # melding.updated for the extra reporter, not a case of its own) in one store write.
    delivery, routed = await duplicates.route(ctx, melding, decision)
    extra = {"dienst": decision.dienst, "confidence": decision.confidence, "rule": decision.routed_by}
    log.info("routed to %s", decision.dienst or "triage", extra={"reference": melding.reference, **extra})
    return decision.stage.value, delivery, routed


async def deliver(ctx: dict[str, Any], delivery_id: int) -> str:
    """Deliver to the case system and queue the notification of the status change it made."""
    outcome, _ = await _deliver(ctx, delivery_id, queue_notify=True)
    return outcome


async def deliver_through(ctx: dict[str, Any], delivery_id: int) -> str:
    """The worker's deliver job: `deliver`, with the notification decided in this same job."""
    return await _deliver_through(ctx, delivery_id, None)


async def _deliver_through(
    ctx: dict[str, Any], delivery_id: int, held: tuple[DeliveryRecord, Melding] | None
) -> str:
    outcome, notify_args = await _deliver(ctx, delivery_id, queue_notify=False, held=held)
    if notify_args is None:
        return outcome
    found, history_id = notify_args

    async def decide(step_ctx: dict[str, Any], melding_id: str, history_id: int) -> str:
        return await _decide(step_ctx, found, history_id)  # read already: no second read

    args = (found.melding.id, history_id)
    notified = await _then(ctx, JOB_NOTIFY, notify_job_id(history_id), args, decide)
    return f"{outcome}, {notified}"


async def _deliver(
    ctx: dict[str, Any],
    delivery_id: int,
    *,
    queue_notify: bool,
    held: tuple[DeliveryRecord, Melding] | None = None,
) -> tuple[str, tuple[notifications.ToNotify, int] | None]:
    """One delivery attempt; its outcome, and the status change to notify (as read when the
    success was recorded, with its history id), if any. With `queue_notify` that change goes
    to a notify job instead. `held`: the delivery and its melding as the routing in this same
    job wrote them; then only whether it is still due is read (a peer's sweep may have queued
    the job and a peer delivered it between the routing's commit and this job's mark)."""
    s = state(ctx)
    if held is None:
        delivery, melding = await s.store.read_grouped(meldingen.with_delivery, delivery_id)
    elif await s.store.read_grouped(deliveries.due, delivery_id):
        delivery, melding = held
    else:
        delivery, melding = None, None
    if delivery is None or melding is None:  # delivered or dead already, or gone
        return "nothing to do", None
    if await _settle_media(ctx, melding):  # a follow-up's photos go with its melding.followup
        # read again: this job or a concurrent process job may have attached them meanwhile
        melding = await s.store.read(meldingen.get, delivery.melding_id)
        assert melding is not None
    await duplicates.wait_for_master(ctx, delivery)  # an extra reporter needs the master's case first
    started = clock.now()  # each try is logged with its outcome (store.attempts)
    try:
        case_id = await s.case_system.deliver(
            delivery.event, melding, idempotency_key=delivery.idempotency_key, extra=delivery.payload
        )
    except DeliveryError as exc:
        return await _delivery_failed(ctx, delivery, melding, exc, started), None
    except Exception as exc:  # an adapter's bug: logged as a try, then arq's handling as before
        crash = attempts.Attempt(started, attempts.CRASHED, error=f"{type(exc).__name__}: {exc}")
        await s.store.write(attempts.of_delivery, delivery.id, crash)
        raise
    created = delivery.event == EVENT_CREATED
    ok = attempts.Attempt(started, attempts.OK, case_id=case_id)
    done = await s.store.write_grouped(
        duplicates_store.succeeded_and_waiting,
        delivery,
        case_id,
        notify_from=None if queue_notify else melding,
        attempt=ok,
    )
    history_id = done.history_id
    latency = (clock.now() - melding.received_at).total_seconds() if created else None
    await record_delivery(redis(ctx), "ok", latency)
    log.info("delivered %s", delivery.event, extra={"reference": melding.reference, "case_id": case_id})
    if history_id is not None and queue_notify:
        await enqueue_notify(redis(ctx), s.settings.queue_name, melding.id, history_id)
    await duplicates.delivered(ctx, delivery, done.waiting)  # ack a duplicate's reporter, release waiting
    if done.to_notify is None or history_id is None:
        return "delivered", None
    return "delivered", (done.to_notify, history_id)


async def _delivery_failed(
    ctx: dict[str, Any], delivery: DeliveryRecord, melding: Melding, exc: DeliveryError, started: datetime
) -> str:
    s = state(ctx)
    attempt = delivery.attempts + 1
    extra = {"reference": melding.reference, "attempt": attempt, "error": str(exc)}
    outcome = attempts.PERMANENT if exc.permanent else attempts.TRANSIENT
    tried = attempts.Attempt(started, outcome, http_status=exc.status, error=str(exc))
    if exc.paused:  # the case system refused our credentials: the operator must act, the melding waits
        return await _delivery_paused(ctx, delivery, exc, extra, tried)
    why, delay = _retry_budget(s.settings, delivery, attempt)
    dead = exc.permanent or why is not None
    next_at = None if dead else clock.now() + timedelta(seconds=delay)
    await s.store.write_grouped(
        deliveries.failed,
        delivery.id,
        error=str(exc),
        dead=dead,
        next_attempt_at=next_at,
        dead_stage=Stage.DEAD if delivery.event == EVENT_CREATED else None,
        attempt=tried,
    )
    await record_delivery(redis(ctx), "dead" if dead else "failed")
    if dead:
        why = "permanent failure" if exc.permanent else why
        log.error("delivery dead (%s); resend with `gateway deliveries --retry`", why, extra=extra)
        return "dead"
    log.warning("delivery failed, retrying in %.1fs", delay, extra=extra)
    raise Retry(defer=delay)


async def _delivery_paused(
    ctx: dict[str, Any],
    delivery: DeliveryRecord,
    exc: DeliveryError,
    extra: dict[str, Any],
    tried: attempts.Attempt,
) -> str:
    """Paused, not dead: tried again at the capped interval, without spending the retry budget
    (nothing is wrong with the melding); the error, naming the settings, is recorded and logged."""
    s = state(ctx)
    delay = s.settings.delivery_backoff_max
    await s.store.write(
        deliveries.failed,
        delivery.id,
        error=str(exc),
        dead=False,
        next_attempt_at=clock.now() + timedelta(seconds=delay),
        starts_budget=False,
        attempt=tried,
    )
    await record_delivery(redis(ctx), "failed")
    log.error("delivery paused, trying again in %.0fs: %s", delay, exc, extra=extra)
    raise Retry(defer=delay)


def _retry_budget(settings: Settings, delivery: DeliveryRecord, attempt: int) -> tuple[str | None, float]:
    """After failed attempt `attempt`: why the delivery is dead now (its budget is spent), or the
    seconds before the next try. The budget is `delivery_retry_for` seconds from the first failed
    attempt (and `delivery_max_attempts` attempts, when set); the last try falls at its end."""
    now = clock.now()
    spent = (now - (delivery.first_failed_at or now)).total_seconds()
    left = settings.delivery_retry_for - spent
    if left <= 0:
        return f"retry budget of {settings.delivery_retry_for:.0f} s spent", 0.0
    if settings.delivery_max_attempts and attempt >= settings.delivery_max_attempts:
        return f"retry budget of {settings.delivery_max_attempts} attempts spent", 0.0
    return None, min(left, backoff(attempt, settings.delivery_backoff_base, settings.delivery_backoff_max))


async def notify(ctx: dict[str, Any], melding_id: str, history_id: int) -> str:
    found = await state(ctx).store.read(notifications.to_notify, melding_id, history_id)  # one read
    if found is None:
        return "missing"
    return await _decide(ctx, found, history_id)


async def _decide(ctx: dict[str, Any], found: notifications.ToNotify, history_id: int) -> str:
    """Each rule's decision about one status change: sent, skipped and why, or a retry."""
    s = state(ctx)
    melding, change, decided = found.melding, found.change, found.decided
    # the portal pushes first: their outbox rows exist before this change counts as notified
    await status_feeds.schedule(ctx, melding, change, history_id)
    outcomes = []
    for rule in RULES:
        if decided.get(rule.channel) == "sent":
            continue
        reason = rule.applies(melding, change, s.settings)
        if reason == NOT_RELEVANT:
            continue
        if reason is None:
            reason = await _unavailable(ctx, rule, melding)
        if reason is not None:
            await s.store.write_grouped(
                notifications.record,
                melding.id,
                history_id,
                rule.channel,
                recipient=None,
                state="skipped",
                detail=reason,
            )
            if rule.action == SMS:
                await count(redis(ctx), "sms_sent_skipped")
            outcomes.append(f"{rule.channel}: skipped")
            continue
        if rule.action == SMS:
            outcome = await sms.send(ctx, rule, melding, change, history_id)
        else:
            outcome = await _send_mail(ctx, rule, melding, change, history_id)
        outcomes.append(f"{rule.channel}: {outcome}")
    return ", ".join(outcomes) or "nothing to send"


async def _unavailable(ctx: dict[str, Any], rule: Rule, melding: Melding) -> str | None:
    """Why a message the rule wants cannot go out: the action is not configured, a rate limit,
    or a reporter who opted out of SMS."""
    s = state(ctx)
    if rule.action == SMS:
        return sms.not_configured(s.settings) or await sms.opted_out(ctx, melding)
    if not s.settings.smtp_relay:
        return "GATEWAY_SMTP_RELAY is not set"
    if rule.rate_limited:
        return await _over_rate_limit(ctx, melding.reporter.email or "")
    return None


async def _send_mail(
    ctx: dict[str, Any], rule: Rule, melding: Melding, change: StatusChange, history_id: int
) -> str:
    s = state(ctx)
    msg = render_email(melding, change, s.settings, s.templates, rule.template)
    try:
        await send_email(s.settings.smtp_relay, msg)
    except NotificationError as exc:
        final = ctx.get("job_try", 1) >= 5
        await s.store.write_grouped(
            notifications.record,
            melding.id,
            history_id,
            rule.channel,
            recipient=melding.reporter.email,
            state="failed" if final else "retrying",
            detail=str(exc),
        )
        log.warning("notification failed: %s", exc, extra={"reference": melding.reference})
        if final:
            return "failed"
        raise Retry(defer=30 * ctx.get("job_try", 1)) from exc
    await s.store.write(
        notifications.record,
        melding.id,
        history_id,
        rule.channel,
        recipient=melding.reporter.email,
        state="sent",
        detail=msg["Message-ID"],
    )
    return "sent"


async def _over_rate_limit(ctx: dict[str, Any], address: str) -> str | None:
    """At most `ack_rate_limit` acknowledgements per sender and hour: a mail loop cannot run away."""
    limit = state(ctx).settings.ack_rate_limit
    key = ACK_RATE_KEY + address.lower()
    count = await redis(ctx).incr(key)
    if count == 1:
        await redis(ctx).expire(key, 3600)
    return (
        f"rate limit: more than {limit} acknowledgements to this sender within an hour"
        if count > limit
        else None
    )


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-enqueue whatever was accepted but whose job vanished (Redis restarted, job expired)."""
    s = state(ctx)
    cutoff = clock.now() - timedelta(seconds=s.settings.sweep_grace)
    found = {"process": 0, "deliver": 0, "notify": 0}
    queue = s.settings.queue_name
    for melding_id in await s.store.read(meldingen.unprocessed, cutoff):
        found["process"] += await enqueue_process(redis(ctx), queue, melding_id)
    # a follow-up's MMS media (process fetches them)
    for melding_id in await s.store.read(media_store.media_waiting, cutoff):
        found["process"] += await enqueue_process(redis(ctx), queue, melding_id)
    for delivery in await s.store.read(deliveries.waiting, cutoff):
        found["deliver"] += await enqueue_delivery(ctx, delivery)
    for melding_id, history_id in await s.store.read(notifications.unnotified, cutoff):
        found["notify"] += await enqueue_notify(redis(ctx), queue, melding_id, history_id)
    if any(found.values()):
        log.warning("sweep re-enqueued lost jobs: %s", found)
    return found
