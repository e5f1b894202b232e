"""Duplicates in the worker: routing with duplicate detection, the extra reporter's delivery to
the master's case, and acknowledging the duplicate's reporter.

- A routed melding is compared with the open meldingen of its dienst (gateway.dedupe). A new
  problem gets its own `melding.created`; a duplicate gets none: its master gets one
  `melding.updated` per extra reporter (key `reporter:<duplicate id>`), so the case system
  keeps one case with N reporters.
- That update waits until the master's own case exists (its `melding.created` delivered).
- When it is delivered, the duplicate takes the master's status (at least Geregistreerd): its
  reporter is notified like any other. Later status changes of the master are passed on to
  its duplicates by the status callback and the case-status poller (gateway.intake.apply_status).
"""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from gateway.dedupe import DuplicateMatch
from gateway.dedupe.service import StoreDuplicateFinder, reporter_payload
from gateway.melding import EVENT_CREATED, EVENT_UPDATED, DeliveryState, Melding, RoutingDecision
from gateway.queue import enqueue_notify
from gateway.queue_release import release_deliveries
from gateway.store import DeliveryRecord, deliveries, meldingen
from gateway.store import duplicates as duplicates_store
from gateway.store.duplicates import REPORTER_KEY
from workers.ctx import redis, retry_delay, state

log = logging.getLogger("workers")


def is_reporter_update(delivery: DeliveryRecord) -> bool:
    return delivery.event == EVENT_UPDATED and f":{REPORTER_KEY}" in delivery.idempotency_key


async def route(
    ctx: dict[str, Any], melding: Melding, decision: RoutingDecision
) -> tuple[DeliveryRecord | None, Melding | None]:
    """Record the routing with what duplicate detection found; return the delivery to enqueue and
    the melding as routed, when the finder gives it (the deliver step then needs no re-read)."""
    s = state(ctx)
    if isinstance(s.duplicates, StoreDuplicateFinder):
        routed = await s.duplicates.route(melding, decision)
        match = routed.outcome.match
        if match is not None:
            log.info(
                "duplicate of %s (score %.2f): %s",
                match.master_id,
                match.score,
                match.reason,
                extra={"reference": melding.reference, "duplicate_of": match.master_id},
            )
        return routed.delivery, routed.melding
    # Another finder (tests, benchmarks) only reports: every melding stays on its own.
    match = await s.duplicates.find(melding)
    if match is not None:
        log.info(
            "possible duplicate of %s (%s)",
            match.master_id,
            match.reason,
            extra={"reference": melding.reference},
        )
    return await s.store.write(meldingen.route, melding.id, decision), None


async def first_delivery(ctx: dict[str, Any], melding: Melding) -> DeliveryRecord:
    """The delivery a routed melding starts with (again, when its job was lost)."""
    s = state(ctx)
    if melding.duplicate_of is None:
        return await s.store.write(deliveries.ensure, melding.id, EVENT_CREATED, key="created")
    match = DuplicateMatch(
        melding.duplicate_of, melding.duplicate_score or 0.0, melding.duplicate_reason or ""
    )
    return await s.store.write(
        deliveries.ensure,
        melding.duplicate_of,
        EVENT_UPDATED,
        key=REPORTER_KEY + melding.id,
        payload=reporter_payload(melding, melding.located or {}, match),
    )


async def wait_for_master(ctx: dict[str, Any], delivery: DeliveryRecord) -> None:
    """An extra reporter is added to a case that exists: retry until the master is delivered."""
    if not is_reporter_update(delivery):
        return
    if (
        await state(ctx).store.read(duplicates_store.created_delivery_state, delivery.melding_id)
        == DeliveryState.DELIVERED
    ):
        return
    # Not counted as a failed attempt. The master's delivery makes this job due the moment it
    # succeeds (`delivered` below); its own backoff only matters should that release be missed.
    raise Retry(defer=retry_delay(ctx))


async def delivered(ctx: dict[str, Any], delivery: DeliveryRecord, waiting: list[DeliveryRecord]) -> None:
    """After `delivery` succeeded; `waiting`: the extra reporters' updates that waited for this
    case (read in the transaction that recorded the success)."""
    s = state(ctx)
    if is_reporter_update(delivery):
        duplicate_id = delivery.idempotency_key.rsplit(f":{REPORTER_KEY}", 1)[1]
        history_id = await s.store.write(duplicates_store.acknowledge_duplicate, duplicate_id)
        if history_id is not None:
            await enqueue_notify(redis(ctx), s.settings.queue_name, duplicate_id, history_id)
    elif waiting:  # the extra reporters waiting for this case (a melding.created): now
        await release_deliveries(redis(ctx), s.settings.queue_name, waiting)
