"""The retention job: closed meldingen older than `retention_days` lose their personal data.

Run daily by every worker's cron (workers/retention.py; arq's `unique` keeps two workers from
running it at once) and by hand with `gateway retention [--dry-run]`. Batches of `BATCH` meldingen,
one transaction each, so a long first run never holds the store for long and an interrupted run
keeps what it did. What is removed and kept: gateway/store/retention.py and SECURITY.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection

from gateway import clock
from gateway.config import Settings
from gateway.store import Store
from gateway.store import retention as ops
from gateway.store.retention import Anonymised

BATCH = 500
Progress = Callable[[str, Anonymised], None]  # (what the batch was, what it removed)


class _DryRunRollback(Exception):
    """Raised inside a dry run's transaction, so it is rolled back after counting."""

    def __init__(self, result: Anonymised) -> None:
        super().__init__("dry run")
        self.result = result


async def run_retention(
    store: Store, settings: Settings, *, dry_run: bool = False, progress: Progress | None = None
) -> Anonymised:
    """One retention run; what it removed (a dry run: what it would remove, nothing changed).
    Nothing at all while `retention_days` is 0 (keep forever)."""
    if settings.retention_days == 0:
        return Anonymised()
    now = clock.now()
    cutoff = now - timedelta(days=settings.retention_days)
    root = settings.attachments_dir
    total = Anonymised()

    async def batch(fn: Callable[..., Anonymised], *args: object) -> Anonymised:
        if not dry_run:
            return await store.write(fn, *args, dry_run=False)

        def counted(conn: Connection, *inner: object, **kw: bool) -> Anonymised:
            raise _DryRunRollback(fn(conn, *inner, **kw))

        try:
            await store.write(counted, *args, dry_run=True)
        except _DryRunRollback as rolled_back:
            return rolled_back.result
        raise AssertionError("unreachable")

    after = ""  # keyset paging: a dry run changes nothing, so the same ids would come back
    while ids := await store.read(ops.due, cutoff, after=after, limit=BATCH):
        done = await batch(ops.anonymise, ids, now, root)
        total += done
        after = ids[-1]
        if progress:
            progress("meldingen", done)
    after_id = 0
    while inbound := await store.read(ops.stale_inbound, cutoff, after=after_id, limit=BATCH):
        done = await batch(ops.anonymise_inbound, inbound, root)
        total += done
        after_id = inbound[-1]
        if progress:
            progress("inbound messages without a melding", done)
    for what, forget in (("opted-in numbers", ops.forget_opt_ins), ("directory lookups", ops.forget_lookups)):
        done = await batch(forget, cutoff)
        total += done
        if progress and done.total():
            progress(what, done)
    return total
