"""The in-memory candidate index: for `gateway dedupe`, the evaluator and the benchmark (the
worker uses the store, gateway.dedupe.service)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.dedupe.records import CandidateQuery, Entry, Hotspot


@dataclass
class MemoryIndex:
    """Buckets per (dienst, cell) and (dienst, street key); for `gateway dedupe` and the benchmark."""

    keep: timedelta = timedelta(days=400)  # entries older than this (behind the newest) are dropped
    by_cell: dict[tuple[str, str], list[Entry]] = field(default_factory=lambda: defaultdict(list))
    by_key: dict[tuple[str, str], list[Entry]] = field(default_factory=lambda: defaultdict(list))
    hotspots: list[Hotspot] = field(default_factory=list)
    size: int = 0
    # Problems (master ids) the case system closed: as in the store, no candidates any more
    # (a duplicate takes its master's status, so the whole problem closes), but still counted
    # for hotspots (a street that keeps flooding).
    closed: set[str] = field(default_factory=set)

    def close(self, master_id: str) -> None:
        self.closed.add(master_id)

    def reopen(self, master_id: str) -> None:
        self.closed.discard(master_id)

    def add(self, entry: Entry) -> None:
        self.size += 1
        if entry.cell:
            self._append(self.by_cell[(entry.dienst, entry.cell)], entry)
        if entry.street_key:
            self._append(self.by_key[(entry.dienst, entry.street_key)], entry)

    def _append(self, bucket: list[Entry], entry: Entry) -> None:
        bucket.append(entry)
        if len(bucket) > 64:  # a busy bucket of a long stream: forget what no window reaches
            horizon = entry.received_at - self.keep
            bucket[:] = [e for e in bucket if e.received_at >= horizon]

    def candidates(self, query: CandidateQuery) -> Iterable[Entry]:
        seen: set[str] = {query.exclude}
        closed, dienst, since, until = self.closed, query.dienst, query.since, query.until
        buckets = [self.by_cell.get((dienst, c)) for c in query.cells]
        buckets += [self.by_key.get((dienst, k)) for k in query.keys]
        for bucket in buckets:
            for e in bucket or ():
                if e.id not in seen and since <= e.received_at <= until:
                    seen.add(e.id)
                    if not closed or e.master_id not in closed:
                        yield e

    def problems_near(self, dienst: str, cells: Sequence[str], since: datetime) -> Iterable[Entry]:
        for cell in cells:
            for e in self.by_cell.get((dienst, cell), ()):
                if e.master_id == e.id and e.received_at >= since:
                    yield e

    def recent_hotspots(self, dienst: str, since: datetime) -> list[Hotspot]:
        return [h for h in self.hotspots if h.dienst == dienst and h.last_at >= since]

    def save_hotspot(self, hotspot: Hotspot) -> Hotspot:
        if hotspot.id is None:
            hotspot = Hotspot(**{**hotspot.__dict__, "id": len(self.hotspots) + 1})
            self.hotspots.append(hotspot)
        else:
            self.hotspots = [hotspot if h.id == hotspot.id else h for h in self.hotspots]
        return hotspot
