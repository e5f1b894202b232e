"""Cohorts: the jobs of one kind that a worker's poll took together set off together.

A gateway Worker takes the due jobs of a poll in one script (`queue_reclaim.take_jobs`), but arq
then reads each job in a round trip of its own, so they reach their function a few turns of the
event loop apart, and the batching of their steps (`Store.read_grouped`, `write_grouped`, the
routing of `workers.cohort`) caught 2 of them at a time. A job of a cohort waits at its start
(`together`) until every other job of its cohort has started too, or has ended without starting
(arq found it gone, aborted, out of tries: `Worker.run_job` lets it go), or `PATIENCE` passed;
then all of them go on in the same turn, and their reads, routings and writes batch whole.

Each job stays an arq job of its own: its result, retries, in-progress key and reclaim (should
the worker die) are arq's and `queue_reclaim`'s as before; a failure of one is its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

COHORTS = "gateway_cohorts"  # in a gateway Worker's ctx: job id -> the cohort it set off in
PATIENCE = 0.5  # seconds the started jobs of a cohort wait at most for the others
# A worker with jobs running starts more once this share of its slots is free, or WAIT seconds
# after it last started some: taken a few at a time, jobs batch a few at a time.
FREE_SHARE, WAIT = 0.5, 0.05


class Cohort:
    def __init__(self, job_ids: Iterable[str], patience: float = PATIENCE) -> None:
        self._waited_for = set(job_ids)
        loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = loop.create_future()
        self._timer = loop.call_later(patience, self._release)
        if not self._waited_for:
            self._release()

    def leave(self, job_id: str) -> None:
        """The job started (or ended without starting): the cohort no longer waits for it."""
        self._waited_for.discard(job_id)
        if not self._waited_for:
            self._release()

    async def arrive(self, job_id: str) -> None:
        self.leave(job_id)
        await self._ready

    def _release(self) -> None:
        self._timer.cancel()
        if not self._ready.done():
            self._ready.set_result(None)


def form(registry: dict[str, Cohort], job_ids: list[str]) -> None:
    """These jobs, just taken, set off together: each waits in `together` for the others."""
    if len(job_ids) < 2:
        return
    cohort = Cohort(job_ids)
    for job_id in job_ids:
        registry[job_id] = cohort


def release(registry: dict[str, Cohort], job_id: str) -> None:
    """The job ended (run or not): should it never have started, its cohort waits no longer."""
    cohort = registry.pop(job_id, None)
    if cohort is not None:
        cohort.leave(job_id)


async def together(ctx: dict[str, Any]) -> None:
    """Wait for the other jobs of this job's cohort (in a gateway Worker; at once elsewhere)."""
    registry: dict[str, Cohort] | None = ctx.get(COHORTS)
    job_id = ctx.get("job_id")
    if registry is None or job_id is None:
        return
    cohort = registry.pop(job_id, None)
    if cohort is not None:
        await cohort.arrive(job_id)


def let_slots_add_up(running: int, max_jobs: int, since_last_start: float) -> bool:
    """Whether a worker's poll starts nothing yet, so that its next cohort is bigger."""
    return bool(running) and max_jobs - running < max_jobs * FREE_SHARE and since_last_start < WAIT
