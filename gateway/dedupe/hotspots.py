"""Hotspots: several distinct problems of one dienst near each other within a window (three
floods in one street), for the desk; raised when a melding is not linked (gateway.dedupe.finder)."""

from __future__ import annotations

from gateway.dedupe.config import DedupeConfig
from gateway.dedupe.geo import Grid, distance_m
from gateway.dedupe.records import CandidateIndex, Entry, Hotspot


def hotspot(index: CandidateIndex, entry: Entry, config: DedupeConfig, grid: Grid) -> Hotspot | None:
    """N distinct problems of one dienst near each other within a window: one hotspot."""
    policy = config.policy(entry.dienst)
    if policy is None or entry.lat is None or entry.lon is None:
        return None
    if (entry.radius_m or 0) > policy.hotspot_radius_m:
        return None  # "somewhere on a long road" says too little about an area
    since = entry.received_at - policy.hotspot_window
    cells = grid.cells_around(entry.lat, entry.lon, policy.hotspot_radius_m)
    near = {
        e.id: e
        for e in index.problems_near(entry.dienst, cells, since)
        if e.lat is not None
        and e.lon is not None
        # Both sides of this melding: workers process meldingen concurrently, so one
        # received later may be recorded before this one is (a stream never has those).
        and e.received_at <= entry.received_at + policy.hotspot_window
        and distance_m(entry.lat, entry.lon, e.lat, e.lon) <= policy.hotspot_radius_m
    }
    near[entry.id] = entry
    if len(near) < policy.hotspot_min_count:
        return None
    ids = tuple(sorted(near, key=lambda i: near[i].received_at))
    first_at = min(e.received_at for e in near.values())
    last_at = max(e.received_at for e in near.values())
    for open_one in index.recent_hotspots(entry.dienst, since):
        if distance_m(open_one.lat, open_one.lon, entry.lat, entry.lon) <= policy.hotspot_radius_m:
            merged = tuple(dict.fromkeys(open_one.melding_ids + ids))
            return index.save_hotspot(
                Hotspot(
                    dienst=entry.dienst,
                    lat=open_one.lat,
                    lon=open_one.lon,
                    radius_m=open_one.radius_m,
                    count=len(merged),
                    melding_ids=merged,
                    first_at=min(open_one.first_at, first_at),
                    last_at=max(open_one.last_at, last_at),
                    id=open_one.id,
                )
            )
    return index.save_hotspot(
        Hotspot(
            dienst=entry.dienst,
            lat=entry.lat,
            lon=entry.lon,
            radius_m=policy.hotspot_radius_m,
            count=len(ids),
            melding_ids=ids,
            first_at=first_at,
            last_at=last_at,
            created=True,
        )
    )
