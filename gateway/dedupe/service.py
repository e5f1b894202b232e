"""Duplicate detection against the store: what the worker uses.

The decision and its record are one write transaction (`route_in_store`): candidates are read,
scored, and the routing, the location found, the duplicate link and the one delivery that
follows (the melding's own `melding.created`, or its master's `melding.updated` adding the
reporter) are written before anyone else can decide about the same dienst (SQLite has one
writer; PostgreSQL takes an advisory lock per dienst). Locating and the text features are
computed before the transaction, so that the lock is held for the lookup and the scoring only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from gateway.cleantext import clean
from gateway.dedupe import DuplicateMatch
from gateway.dedupe.finder import Deduper
from gateway.dedupe.records import CandidateQuery, Entry, Hotspot, Outcome, Probe
from gateway.dedupe.shared import partners
from gateway.melding import Melding, RoutingDecision, Stage
from gateway.store import DeliveryRecord, Store
from gateway.store import duplicates as q
from gateway.store.meldingen import delivery_of

log = logging.getLogger("gateway.dedupe")


class StoreIndex:
    """`CandidateIndex` over one store transaction."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def candidates(self, query: CandidateQuery) -> Iterable[Entry]:
        found = q.dedupe_candidates(
            self.conn,
            dienst=query.dienst,
            cells=query.cells,
            keys=query.keys,
            since=query.since,
            until=query.until,
            exclude=query.exclude,
        )
        return [_entry(r) for r in found]

    def add(self, entry: Entry) -> None:
        pass  # written with the routing by q.route_dedupe, in the same transaction

    def problems_near(self, dienst: str, cells: Sequence[str], since: datetime) -> Iterable[Entry]:
        return [_entry(r) for r in q.dedupe_problems_near(self.conn, dienst, cells, since)]

    def recent_hotspots(self, dienst: str, since: datetime) -> list[Hotspot]:
        return [
            Hotspot(
                dienst=r.dienst,
                lat=r.lat,
                lon=r.lon,
                radius_m=r.radius_m,
                count=r.count,
                melding_ids=tuple(r.melding_ids),
                first_at=r.first_at,
                last_at=r.last_at,
                id=r.id,
            )
            for r in q.recent_hotspots(self.conn, dienst, since)
        ]

    def save_hotspot(self, hotspot: Hotspot) -> Hotspot:
        values = {
            "dienst": hotspot.dienst,
            "lat": hotspot.lat,
            "lon": hotspot.lon,
            "radius_m": hotspot.radius_m,
            "count": hotspot.count,
            "melding_ids": list(hotspot.melding_ids),
            "first_at": hotspot.first_at,
            "last_at": hotspot.last_at,
        }
        new_id = q.save_hotspot(self.conn, values, hotspot.id)
        return Hotspot(**{**hotspot.__dict__, "id": new_id})


def _entry(row: Row[Any]) -> Entry:
    sig = row.dedupe_sig or {}
    return Entry(
        id=row.id,
        master_id=row.duplicate_of or row.id,
        dienst=row.dienst,
        received_at=row.received_at,
        lat=row.loc_lat,
        lon=row.loc_lon,
        radius_m=row.loc_radius,
        street_key=row.street_key,
        number=row.house_no,
        kinds=frozenset(sig.get("k", ())),
        text=sig.get("t", ""),
        cell=row.geo_cell,
        corner_key=sig.get("c"),
    )


@dataclass(frozen=True)
class Routed:
    """What the worker needs after routing: the delivery to enqueue and what dedupe found."""

    delivery: DeliveryRecord | None
    outcome: Outcome
    melding: Melding  # as routed: what `meldingen.get` reads back once this routing is committed


def route_in_store(
    conn: Connection,
    deduper: Deduper,
    melding: Melding,
    probe: Probe,
    decision: RoutingDecision,
) -> Routed:
    dienst = _locked_dienst(probe, decision)
    if dienst is not None:
        # A shared problem also reads the other dienst's meldingen (gateway.dedupe.shared): hold its lock
        # too, always in name order, so two workers cannot deadlock or miss each other's twin.
        q.dedupe_locks(conn, sorted({dienst, *(other for _, other in partners(dienst, probe.kinds))}))
        outcome = deduper.decide(StoreIndex(conn), probe)
    else:  # triage (never guessed, so not compared) or a dienst without duplicates (info)
        outcome = Outcome(probe.place, probe.kinds, None, None, None, None)
    place, entry, match = outcome.place, outcome.entry, outcome.match
    located = {
        "located": place.as_dict(),
        "loc_lat": place.lat,
        "loc_lon": place.lon,
        "loc_radius": place.radius_m,
        "street_key": place.street_key,
        "house_no": place.number,
        "geo_cell": entry.cell if entry else None,
        "dedupe_sig": entry.signature() if entry else None,
    }
    delivery = q.route_dedupe(
        conn,
        melding.id,
        decision,
        located=located,
        duplicate_of=match.master_id if match else None,
        duplicate_score=match.score if match else None,
        duplicate_reason=match.reason if match else None,
        reporter_payload=reporter_payload(melding, place.as_dict(), match) if match else None,
        reference=melding.reference,
    )
    found = [(s.candidate_id, s.score, s.reason) for s in outcome.suggestions]
    q.save_suggestions(conn, melding.id, found, judged_before=melding.stage != Stage.RECEIVED)
    return Routed(delivery, outcome, as_routed(melding, decision, located["located"], match, delivery))


def as_routed(
    melding: Melding,
    decision: RoutingDecision,
    located: dict[str, Any],
    match: DuplicateMatch | None,
    delivery: DeliveryRecord | None,
) -> Melding:
    """The melding read before its routing, with what `q.route_dedupe` wrote (as the store gives
    it back: JSON cleaned, pairs as tuples, its own first delivery listed): the worker delivers
    this value in the same job instead of reading the melding whole again (five queries)."""
    listed = melding.deliveries
    own = delivery is not None and delivery.melding_id == melding.id
    if own and not any(d.event == delivery.event for d in listed):
        assert delivery is not None
        listed = [*listed, delivery_of(delivery)]
    return melding.model_copy(
        update={
            "dienst": decision.dienst,
            "confidence": None if decision.confidence is None else float(decision.confidence),
            "routed_by": decision.routed_by,
            "alternatives": [tuple(a) for a in decision.alternatives],
            "duplicate_of": match.master_id if match else None,
            "duplicate_score": match.score if match else None,
            "duplicate_reason": match.reason if match else None,
            "located": clean(located),
            "stage": decision.stage,
            "deliveries": listed,
        }
    )


def _locked_dienst(probe: Probe, decision: RoutingDecision) -> str | None:
    """The dienst whose dedupe lock `route_in_store` takes, if any."""
    routed = decision.stage == Stage.ROUTED and probe.window > timedelta(0)
    return probe.dienst if routed else None


def reporter_payload(melding: Melding, located: dict[str, Any], match: DuplicateMatch) -> dict[str, Any]:
    """The extra reporter, as the master's `melding.updated` carries it to the case system."""
    return {
        "update": "reporter_added",
        "reporter_added": {
            "id": melding.id,
            "reference": melding.reference,
            "channel": melding.channel.value,
            "received_at": melding.received_at.isoformat(),
            "reporter": melding.reporter.model_dump(),
            "subject": melding.subject,
            "text": melding.text,
            "location": melding.location.model_dump(),
            "located": located,
            "duplicate_score": match.score,
            "duplicate_reason": match.reason,
            # the extra reporter's photos, for the master's case (workers.casesystem.extra_attachments)
            "attachments": [a.model_dump(mode="json") for a in melding.attachments if a.state == "stored"],
        },
    }


class StoreDuplicateFinder:
    """The `DuplicateFinder` of the worker: the configured deduper over the worker's store."""

    def __init__(self, deduper: Deduper, store: Store):
        self.deduper = deduper
        self.store = store

    async def find(self, melding: Melding) -> DuplicateMatch | None:
        """Read-only: what `route` would link this melding to now (it records nothing)."""
        probe = self.deduper.probe(melding)

        def look(conn: Connection) -> DuplicateMatch | None:
            return self.deduper.decide(StoreIndex(conn), probe, hotspots=False).match

        return await self.store.read(look)

    async def route(self, melding: Melding, decision: RoutingDecision) -> Routed:
        probe = self.deduper.probe(melding, decision.dienst)
        routed = await self.store.write_grouped(
            route_in_store, self.deduper, melding, probe, decision, lock=_locked_dienst(probe, decision)
        )
        hotspot = routed.outcome.hotspot
        if hotspot is not None and hotspot.created:
            log.warning(
                "hotspot: %d problems of %s within %.0f m since %s",
                hotspot.count,
                hotspot.dienst,
                hotspot.radius_m,
                hotspot.first_at.date().isoformat(),
                extra={"reference": melding.reference, "dienst": hotspot.dienst, "hotspot": hotspot.id},
            )
        return routed
