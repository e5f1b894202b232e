"""Two open problems that fit one report about as well: the desk decides, not the finder.

A report placed only "somewhere on the Kanonstraat" fits the lamp at nr 54 and the one 150 m
on equally; the finder took whichever scored a hair higher (text similarity, time), so a
second lamp on one street drew its neighbours' reports. Such a pair is at most a suggestion
(both problems are offered), when the two problems lie at clearly different spots: two
reports of one problem (a pin on the street and "somewhere on it", not yet linked) are no rivals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.dedupe.closeness import closeness
from gateway.dedupe.config import DedupeConfig
from gateway.dedupe.geo import distance_m
from gateway.dedupe.neighbours import Placed

STREET_MARGIN = 0.15  # below a best placed only on a street, a problem this close fits as well
CLOSE_CALL = 0.05  # two problems this close, however placed: a coin toss, not a decision
SPOT_M = 80.0  # a report placed this certainly is at a spot (placing.PRECISE_M)


class Report(Placed, Protocol):
    """A report as the index keeps it (records.Entry; a Protocol, as finder imports this module)."""

    @property
    def id(self) -> str: ...
    @property
    def master_id(self) -> str: ...
    @property
    def dienst(self) -> str: ...


class Scored(Protocol):
    entry: Report
    score: float
    capped: bool  # held below the threshold by a doubt already: no rival
    street_level: bool  # the report and this candidate meet only as "somewhere on one street"


def rival(scored: Sequence[Scored], best: Scored | None, config: DedupeConfig) -> Scored | None:
    """Another plausible problem (at or above suggest_threshold) within a margin of `best`, which
    clears the threshold, and placed at a spot clearly apart from it; None when the best stands
    out (by STREET_MARGIN when it meets the report only on a street, else by CLOSE_CALL)."""
    if best is None or best.score < config.threshold:
        return None
    margin = STREET_MARGIN if best.street_level else CLOSE_CALL
    policy = config.policy(best.entry.dienst)
    reach = policy.radius_m if policy else 0.0
    mine = [s.entry for s in scored if s.entry.master_id == best.entry.master_id]
    for s in scored:
        if s.entry.master_id == best.entry.master_id or s.capped or s.score < config.suggest_threshold:
            continue
        if best.score - s.score >= margin:
            continue
        theirs = [t.entry for t in scored if t.entry.master_id == s.entry.master_id]
        if any(_apart(a, b, reach) for a in mine for b in theirs):
            return s
    return None


def elsewhere(place: Placed, reports: Sequence[Report], reach: float) -> str | None:
    """The id of a report placed at a spot clearly apart from `place` (also at a spot), if any."""
    for e in reports:
        if _apart(place, e, reach):
            return e.id
    return None


def _apart(a: Placed, b: Placed, reach: float) -> bool:
    """Two reports placed at spots (a pin, a house number) too far apart to be one: beyond the
    dienst's radius plus both uncertainties. "Somewhere on a street" is apart from nothing."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return False
    if (a.radius_m or 0.0) > SPOT_M or (b.radius_m or 0.0) > SPOT_M:
        return False
    d = distance_m(a.lat, a.lon, b.lat, b.lon)
    return closeness(d, reach, a.radius_m or 0.0, b.radius_m or 0.0) <= 0.0
