"""Batching by construction: the routing of the process jobs that run side by side, in one call.

The process jobs a gateway Worker's poll takes set off together (gateway.queue_cohort), and their
meldingen are read together (`Store.read_grouped`), so their routings are asked for within a
turn or two of the event loop. `RoutingBatch` collects them and runs the classifier once for all
(`HybridRouter.decide_many`: one tokenizer pass and one model predict for the batch, the same
decisions bit for bit as one at a time), and it wakes the jobs together, so that their routing
writes (dedupe included) share one transaction (`Store.write_grouped`) instead of drifting apart.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.classify.router import Router
from gateway.melding import RoutingDecision

log = logging.getLogger("workers")

# Turns of the event loop a batch waits after its first routing for the jobs woken meanwhile
# (the grouped read that woke them wakes them in the same turn; one more for stragglers).
LINGER = 2


class RoutingBatch:
    def __init__(self, router: Router, linger: int = LINGER) -> None:
        self._router = router
        self._linger = linger
        self._pending: list[tuple[str, str | None, asyncio.Future[RoutingDecision]]] = []
        self._flush: asyncio.Task[None] | None = None

    async def route(self, text: str, subject: str | None = None) -> RoutingDecision:
        """The routing of one text, decided together with those asked for meanwhile."""
        future: asyncio.Future[RoutingDecision] = asyncio.get_running_loop().create_future()
        self._pending.append((text, subject, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._decide_after_linger())
        return await future

    async def _decide_after_linger(self) -> None:
        try:
            for _ in range(self._linger):
                await asyncio.sleep(0)
        finally:  # cancelled too (shutdown): no job is left waiting for its routing
            batch, self._pending, self._flush = self._pending, [], None
            self.decide(batch)

    def decide(self, batch: list[tuple[str, str | None, asyncio.Future[RoutingDecision]]]) -> None:
        decide_many = getattr(self._router, "decide_many", None)
        if decide_many is not None and len(batch) > 1:
            try:
                decisions = decide_many([(text, subject) for text, subject, _ in batch])
            except Exception:  # one text's failure must not fail the others: each alone below
                log.warning("routing a batch of %d failed; routing each alone", len(batch), exc_info=True)
            else:
                for (_, _, future), decision in zip(batch, decisions, strict=True):
                    if not future.done():
                        future.set_result(decision.routing().decision())
                return
        for text, subject, future in batch:
            if future.done():  # its job was cancelled meanwhile
                continue
            try:
                future.set_result(self._router.route(text, subject).decision())
            except Exception as exc:
                future.set_exception(exc)
