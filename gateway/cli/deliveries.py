"""`gateway deliveries`: what the case system has not accepted, and resending the dead."""

from __future__ import annotations

import json
import sys

from gateway.config import Settings
from gateway.melding import DeliveryState
from gateway.queue import connect, enqueue_deliveries
from gateway.store import Store, attempts, deliveries


async def unknown_references(store: Store, references: list[str] | None, command: str) -> bool:
    """Whether a `--reference` names no melding (said on stderr): a mistyped reference would
    otherwise read as "nothing dead there" (exit 0). `gateway pushes` asks the same."""
    unknown = await store.read(attempts.unknown_references, references) if references else []
    if unknown:
        named = ", ".join(map(repr, unknown))
        print(f"gateway {command}: no melding with reference {named}", file=sys.stderr)
    return bool(unknown)


async def list_or_retry(
    settings: Settings, *, dead_only: bool, retry: bool, references: list[str] | None, as_json: bool
) -> int:
    store = Store(
        settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
    )
    await store.open()
    try:
        if await unknown_references(store, references, "deliveries"):
            return 1
        if retry:
            revived = await store.write(deliveries.revive_dead, references)
            redis = connect(
                settings.redis_url,
                settings.queue_name,
                socket_timeout=settings.redis_socket_timeout,
                connect_timeout=settings.redis_connect_timeout,
            )
            try:
                await enqueue_deliveries(redis, settings.queue_name, revived)
            finally:
                await redis.aclose()
            for d in revived:
                print(
                    json.dumps({"reference": d.reference, "event": d.event, "requeued": True})
                    if as_json
                    else f"requeued {d.reference} {d.event}"
                )
            if not as_json:
                print(f"{len(revived)} dead deliveries sent again")
            return 0
        states = (
            [DeliveryState.DEAD]
            if dead_only
            else [DeliveryState.PENDING, DeliveryState.RETRYING, DeliveryState.DEAD]
        )
        rows = await store.read(deliveries.in_states, states, references=references)
        for d in rows:
            if as_json:
                print(
                    json.dumps(
                        {
                            "reference": d.reference,
                            "event": d.event,
                            "state": d.state.value,
                            "attempts": d.attempts,
                            "last_error": d.last_error,
                            "updated_at": d.updated_at.isoformat(),
                        }
                    )
                )
            else:
                print(
                    f"{d.reference:<18} {d.event:<18} {d.state.value:<9} {d.attempts:>3}  "
                    f"{d.last_error or ''}"
                )
        if not as_json:
            print(f"{len(rows)} {'dead ' if dead_only else ''}deliveries")
        return 0
    finally:
        await store.close()


async def show_attempts(settings: Settings, key: str, *, as_json: bool) -> int:
    """Every attempt of the melding's deliveries and portal pushes (`gateway deliveries --attempts`)."""
    store = Store(
        settings.database_url, timezone=settings.timezone, reference_prefix=settings.reference_prefix
    )
    await store.open()
    try:
        found = await store.read(attempts.of_reference, key)
    finally:
        await store.close()
    if found is None:
        print(f"no melding with reference or id {key!r}", file=sys.stderr)
        return 1
    for a in found:
        if as_json:
            print(
                json.dumps(
                    {
                        "what": a.what,
                        "attempt": a.attempt,
                        "started_at": a.started_at.isoformat(),
                        "finished_at": a.finished_at.isoformat(),
                        "outcome": a.outcome,
                        "http_status": a.http_status,
                        "case_id": a.case_id,
                        "error": a.error,
                    }
                )
            )
        else:
            print(
                f"{a.what:<24} {a.attempt:>3}  {a.started_at:%Y-%m-%d %H:%M:%S}  "
                f"{(a.finished_at - a.started_at).total_seconds():6.2f}s  {a.outcome:<9} "
                f"{a.http_status or '-':>3}  {a.case_id or ''}  {a.error or ''}".rstrip()
            )
    if not as_json:
        print(f"{len(found)} attempts")
    return 0
