"""Citizen portal feeds: each status change of a melding linked to a citizen (a national register
number) pushed to every feed of GATEWAY_STATUS_FEEDS that wants that status.

`schedule` runs in the notify step, before any notification is decided: the outbox rows
(gateway.store.pushes) exist once the status change's notification is settled, so the sweep
finds a push whose job was lost. Each push is its own arq job (`push`), retried with the
delivery backoff and budget, dead after it: a portal that is down never delays routing,
delivery to the case system or the reporter's notifications.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from arq import Retry

from gateway import clock
from gateway.config import Settings, StatusFeed
from gateway.melding import Melding, StatusChange
from gateway.metrics import count
from gateway.queue import backoff, enqueue_push
from gateway.store import attempts, pushes
from workers.ctx import redis, state
from workers.status_feeds.adapters import Feed, PushError, build_feed, dossier_of

log = logging.getLogger("workers")


async def schedule(ctx: dict[str, Any], melding: Melding, change: StatusChange, history_id: int) -> int:
    """Create and queue the pushes of one status change; how many were queued."""
    s = state(ctx)
    names = pushes.feeds_wanting(s.settings.status_feeds, change.status)
    if not names:  # no feed configured or none wants this status: no store read on the hot path
        return 0
    records = await s.store.write(pushes.ensure, melding.id, history_id, names)
    for record in records:
        await enqueue_push(redis(ctx), s.settings.queue_name, record.job_id, record.id)
    return len(records)


def _feed(ctx: dict[str, Any], name: str) -> Feed | None:
    """The feed's adapter, one per worker (a DOSIS token is kept between pushes)."""
    s = state(ctx)
    adapters: dict[str, Feed] = ctx.setdefault("status_feeds", {})
    if name not in adapters:
        config: StatusFeed | None = next((f for f in s.settings.status_feeds if f.name == name), None)
        if config is None:
            return None
        adapters[name] = build_feed(config, s.session)
    return adapters[name]


async def push(ctx: dict[str, Any], push_id: int) -> str:
    s = state(ctx)
    found = await s.store.read(pushes.to_push, push_id)
    if found is None:  # pushed or dead already, or gone
        return "nothing to do"
    record, extra = found.push, {"reference": found.push.reference, "feed": found.push.feed}
    feed = _feed(ctx, record.feed)
    why = _unsendable(feed, found)
    if feed is None or why is not None:
        await s.store.write(pushes.failed, record.id, error=why or "", next_attempt_at=None)
        log.warning("status push dropped: %s", why, extra=extra)
        return "dead"
    if found.superseded:
        await s.store.write(pushes.succeeded, record.id, "not sent: a later status has its own push")
        return "superseded"
    dossier = dossier_of(
        s.settings,
        found.melding,
        found.change,
        national_register_number=found.national_register_number,
        idempotency_key=f"{record.melding_id}:status:{record.history_id}",
    )
    started = clock.now()  # each try is logged with its outcome (store.attempts)
    try:
        await feed.push(dossier)
    except PushError as exc:
        return await _failed(ctx, record, exc, extra, started)
    except Exception as exc:  # an adapter's bug: logged as a try, then arq's handling
        crash = attempts.Attempt(started, attempts.CRASHED, error=f"{type(exc).__name__}: {exc}")
        await s.store.write(attempts.of_push, record.id, crash)
        raise
    await s.store.write(pushes.succeeded, record.id, attempt=attempts.Attempt(started, attempts.OK))
    await count(redis(ctx), "status_pushes_ok")
    log.info("status %s pushed", found.change.status, extra=extra)
    return "pushed"


def _unsendable(feed: Feed | None, found: pushes.ToPush) -> str | None:
    """Why a push can never go (dead at once), or None."""
    if feed is None:
        return "the feed is no longer in GATEWAY_STATUS_FEEDS"
    if not found.national_register_number:  # unlinked by the desk, or removed by retention
        return "the melding has no national register number any more"
    return None


async def _failed(
    ctx: dict[str, Any], record: pushes.PushRecord, exc: PushError, extra: dict[str, Any], started: datetime
) -> str:
    s = state(ctx)
    why, delay = _budget(s.settings, record, record.attempts + 1)
    dead = exc.permanent or why is not None
    next_at = None if dead else clock.now() + timedelta(seconds=delay)
    outcome = attempts.PERMANENT if exc.permanent else attempts.TRANSIENT
    tried = attempts.Attempt(started, outcome, http_status=exc.status, error=str(exc))
    await s.store.write(pushes.failed, record.id, error=str(exc), next_attempt_at=next_at, attempt=tried)
    extra = {**extra, "attempt": record.attempts + 1, "error": str(exc)}
    if dead:
        await count(redis(ctx), "status_pushes_dead")
        log.error("status push dead (%s)", "permanent failure" if exc.permanent else why, extra=extra)
        return "dead"
    await count(redis(ctx), "status_pushes_failed")
    log.warning("status push failed, retrying in %.1fs", delay, extra=extra)
    raise Retry(defer=delay)


def _budget(settings: Settings, record: pushes.PushRecord, attempt: int) -> tuple[str | None, float]:
    """As a delivery's: why the push is dead now, or the seconds before its next try."""
    now = clock.now()
    left = settings.delivery_retry_for - (now - (record.first_failed_at or now)).total_seconds()
    if left <= 0:
        return f"retry budget of {settings.delivery_retry_for:.0f} s spent", 0.0
    if settings.delivery_max_attempts and attempt >= settings.delivery_max_attempts:
        return f"retry budget of {settings.delivery_max_attempts} attempts spent", 0.0
    return None, min(left, backoff(attempt, settings.delivery_backoff_base, settings.delivery_backoff_max))


async def sweep_pushes(ctx: dict[str, Any]) -> int:
    """Queue again the pushes whose job was lost (Redis restarted empty, a job expired)."""
    s = state(ctx)
    cutoff = clock.now() - timedelta(seconds=s.settings.sweep_grace)
    found = 0
    for record in await s.store.read(pushes.waiting, cutoff):
        found += await enqueue_push(redis(ctx), s.settings.queue_name, record.job_id, record.id)
    if found:
        log.warning("sweep re-enqueued %d lost status pushes", found)
    return found
