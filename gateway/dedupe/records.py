"""What the finder works with: a melding's probe, the index's entries and the index itself,
what a decision returns, and a scored candidate (gateway.dedupe.finder decides)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from gateway.dedupe import DuplicateMatch, Suggestion
from gateway.dedupe.place import Place

BELOW = 0.001  # a capped score sits this far below the threshold: the best suggestion, never a link


@dataclass(frozen=True)
class Probe:
    id: str
    dienst: str | None
    received_at: datetime
    place: Place
    kinds: frozenset[str]
    text: str  # content words (gateway.dedupe.text.content_string)
    window: timedelta  # zero: not deduplicated (no dienst, or a dienst with window 0)
    another: bool = False  # "weer een tak", "another branch": perhaps a second one (see ANOTHER)
    again: bool = False  # "weer kapot", "broken again": repaired in between (see text.AGAIN)
    still: bool = False  # "nog altijd niet hersteld", "still": a problem already reported (longstreet.STILL)
    # Its own words name no problem of its dienst but another dienst's (a reply in a lamp thread
    # that reports dumped rubble): routed by the thread, so at most a suggestion.
    elsewhere: str | None = None
    # A question that names no problem ("any news on my report?"): a suggestion at most.
    question: bool = False


@dataclass
class Entry:
    """What the index keeps of a routed melding."""

    id: str
    master_id: str  # the first report of the problem: itself for a master
    dienst: str
    received_at: datetime
    lat: float | None
    lon: float | None
    radius_m: float | None
    street_key: str | None
    number: float | None
    kinds: frozenset[str]
    text: str
    cell: str | None
    corner_key: str | None = None  # "aan het kruispunt met de X" (Place.corner_key)

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    def signature(self) -> dict[str, object]:
        """The compact part kept in the store (column `dedupe_sig`)."""
        sig: dict[str, object] = {"k": sorted(self.kinds), "t": self.text}
        if self.corner_key:
            sig["c"] = self.corner_key
        return sig


@dataclass(frozen=True)
class Hotspot:
    dienst: str
    lat: float
    lon: float
    radius_m: float
    count: int
    melding_ids: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    id: int | None = None
    created: bool = False  # raised by this melding (the desk's event)


@dataclass(frozen=True)
class Outcome:
    place: Place
    kinds: frozenset[str]
    match: DuplicateMatch | None
    best_score: float | None  # of the best candidate, linked or not
    best_reason: str | None
    entry: Entry | None  # None when the melding is not indexed (no dienst, window 0)
    hotspot: Hotspot | None = None
    candidates: int = 0
    suggestions: tuple[Suggestion, ...] = ()  # only when not linked: plausible problems, best first


class CandidateQuery(NamedTuple):
    """The open meldingen a probe is compared with: a dienst's, in these grid cells or on these
    streets (street keys), received within [since, until], the probe itself left out. (A named
    tuple: made once or twice for every melding, and a frozen dataclass costs more to make.)"""

    dienst: str
    cells: Sequence[str]
    keys: Sequence[str]
    since: datetime
    until: datetime
    exclude: str


class CandidateIndex(Protocol):
    def candidates(self, query: CandidateQuery) -> Iterable[Entry]: ...

    def add(self, entry: Entry) -> None: ...

    def problems_near(self, dienst: str, cells: Sequence[str], since: datetime) -> Iterable[Entry]: ...

    def recent_hotspots(self, dienst: str, since: datetime) -> list[Hotspot]: ...

    def save_hotspot(self, hotspot: Hotspot) -> Hotspot: ...


@dataclass
class Scored:
    """A candidate as scored for one probe."""

    entry: Entry
    score: float
    reason: str
    capped: bool = False  # held below the threshold by a doubt: at most a suggestion
    street_level: bool = False  # placed only "somewhere on one street" (PlaceFit.street_level)

    def cap(self, threshold: float, why: str | None = None) -> None:
        """At most a suggestion: held just below the automatic threshold, with why (if given)
        added to the reason the desk reads."""
        self.score, self.capped = min(self.score, threshold - BELOW), True
        if why:
            self.reason += f"; {why}"
