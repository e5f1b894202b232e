"""`gateway pushes`: status pushes the citizen portals have not accepted, and resending the dead."""

from __future__ import annotations

import json

from gateway.cli.deliveries import unknown_references
from gateway.config import Settings
from gateway.melding import DeliveryState
from gateway.queue import connect, enqueue_push
from gateway.store import Store, pushes


async def list_or_retry(
    settings: Settings, *, dead_only: bool, retry: bool, references: list[str] | None, as_json: bool
) -> int:
    store = Store(
        settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
    )
    await store.open()
    try:
        if await unknown_references(store, references, "pushes"):
            return 1
        if retry:
            return await _retry(settings, store, references, as_json)
        states = (
            [DeliveryState.DEAD]
            if dead_only
            else [DeliveryState.PENDING, DeliveryState.RETRYING, DeliveryState.DEAD]
        )
        rows = await store.read(pushes.in_states, states, references=references)
        for p in rows:
            shown = {
                "reference": p.reference,
                "feed": p.feed,
                "state": p.state.value,
                "attempts": p.attempts,
                "last_error": p.last_error,
            }
            print(
                json.dumps(shown)
                if as_json
                else f"{p.reference:<18} {p.feed:<16} {p.state.value:<9} {p.attempts:>3}  "
                f"{p.last_error or ''}"
            )
        if not as_json:
            print(f"{len(rows)} {'dead ' if dead_only else ''}status pushes")
        return 0
    finally:
        await store.close()


async def _retry(settings: Settings, store: Store, references: list[str] | None, as_json: bool) -> int:
    revived = await store.write(pushes.revive_dead, references)
    redis = connect(
        settings.redis_url,
        settings.queue_name,
        socket_timeout=settings.redis_socket_timeout,
        connect_timeout=settings.redis_connect_timeout,
    )
    try:
        for p in revived:
            await enqueue_push(redis, settings.queue_name, p.job_id, p.id)
    finally:
        await redis.aclose()
    for p in revived:
        print(
            json.dumps({"reference": p.reference, "feed": p.feed, "requeued": True})
            if as_json
            else f"requeued {p.reference} {p.feed}"
        )
    if not as_json:
        print(f"{len(revived)} dead status pushes sent again")
    return 0
