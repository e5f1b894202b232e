"""Reading status changes back from a polled case system (TOPdesk): an arq cron job.

One poller across all workers: the job runs only while it holds a Redis lock
(`gateway.queue.case_status_poll_lock`, redis-py's Lock: a token checked on release, so a
worker never frees another's lock). It resumes from the cursor stored in the store
(gateway.store.cursors), saved after every page, so a poll cut off by a crash or a restart
reads at most one page again, and applying a status twice changes nothing.

Each change goes through `gateway.intake.apply_case_status`, the step the webhook's status
callbacks take: history entry, notification, the duplicates' reporters. A case system that pushes its
changes (the webhook) answers None and the job has nothing to do.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from redis.exceptions import LockError

from gateway.intake import apply_case_status
from gateway.queue import case_status_poll_lock
from gateway.store import InvalidTransition, cursors, meldingen
from workers.casesystem import CaseStatus, DeliveryError
from workers.ctx import redis, state

log = logging.getLogger("workers")

MAX_PAGES = 100  # per run: a huge backlog is read over several runs, each holding the lock briefly


async def poll_case_status(ctx: dict[str, Any]) -> str:
    s = state(ctx)
    # Held at most as long as a run may take; extended after each page.
    ttl = max(60.0, s.settings.case_system_timeout * 6)
    lock = redis(ctx).lock(case_status_poll_lock(s.settings.queue_name), timeout=ttl, blocking=False)
    if not await lock.acquire():
        return "another worker is polling"
    try:
        return await _poll(ctx, lock)
    finally:
        try:
            await lock.release()
        except LockError:  # expired meanwhile (a very slow run): nothing of ours left to free
            log.warning("case status poll outlived its lock (%.0f s)", ttl)


async def _poll(ctx: dict[str, Any], lock: Any) -> str:
    s = state(ctx)
    name = s.case_system.name
    cursor = await s.store.read(cursors.get, name)
    applied = read = 0
    for _ in range(MAX_PAGES):
        try:
            page = await s.case_system.status_changes(cursor)
        except DeliveryError as exc:
            if exc.paused:  # wrong credentials: say so loudly, try again at the next run
                log.error("case status poll stopped: %s", exc)
            else:
                log.warning("case status poll failed, trying again at the next run: %s", exc)
            return f"failed: {exc}"
        if page is None:
            return "pushed by the case system"
        for change in page.changes:
            read += 1
            applied += await _apply(ctx, change)
        if page.cursor and page.cursor != cursor:
            await s.store.write(cursors.put, name, page.cursor)
            cursor = page.cursor
        if not page.more:
            break
        await lock.extend(lock.timeout, replace_ttl=True)
    if applied:
        log.info("case status poll: %d of %d changes applied", applied, read)
    return f"{applied} applied of {read} read"


async def _apply(ctx: dict[str, Any], change: CaseStatus) -> int:
    s = state(ctx)
    melding = await s.store.read(meldingen.by_reference, change.reference)
    if melding is None:
        log.info("case status for unknown reference %s ignored", change.reference)
        return 0
    # A poll sees every incident we touched too (our own actions change its modificationDate). Only
    # a status the case system changed counts: a reporter's reply moved the melding from Wachten op
    # antwoord back to In behandeling here while TOPdesk still says "Wachten op melder", and
    # reading that again must not send the reporter the same question twice.
    said = [h for h in melding.status_history if h.source == "case_system"]
    if said and said[-1].status == change.update.status:
        return 0
    update = change.update
    if said and update.note and said[-1].note == update.note:  # the newest note is an old one
        update = dataclasses.replace(update, note=None)
    try:
        history_id = await apply_case_status(
            s.store, redis(ctx), s.settings.queue_name, melding=melding, change=update
        )
    except InvalidTransition as exc:
        log.warning(
            "case status %s refused: %s", change.update.status, exc, extra={"reference": melding.reference}
        )
        return 0
    if history_id is None:
        return 0
    log.info("status changed to %s", change.update.status, extra={"reference": melding.reference})
    return 1
