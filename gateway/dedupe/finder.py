"""Deciding whether a melding reports a problem that is already open.

`Deduper` does the work, synchronously, against a `CandidateIndex`: `MemoryIndex` (the
`gateway dedupe` command, the benchmark) or `gateway.dedupe.store.StoreIndex` (the worker,
inside one store transaction, so that two workers cannot both miss each other's report).

1. `probe`: where (gateway.dedupe.locate), which problem kinds (gateway.dedupe.kinds), the
   normalized content words, the time window.
2. Blocking: grid cells around the place (or along its street) and street keys (its own, and
   those of the streets a map pin lies on) of the same dienst, within the window. The index
   answers from those buckets only, so the cost per melding does not grow with the city.
3. Scoring each candidate: place (0..1, gateway.dedupe.placing) and text (0..1, kind agreement
   + rapidfuzz); a different problem kind vetoes; a doubt caps the score just below the
   threshold (records.Scored.cap: at most a suggestion). The best candidate at or above the
   threshold is the match; the melding then joins that candidate's master (the first report
   of the problem).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from gateway.classify.rules import normalize_text
from gateway.config import Settings
from gateway.dedupe import DuplicateMatch, Suggestion, kinds
from gateway.dedupe.closeness import closeness
from gateway.dedupe.config import DedupeConfig, DedupeConfigError
from gateway.dedupe.config import load as load_config
from gateway.dedupe.corner import away_from_corner
from gateway.dedupe.geo import Grid
from gateway.dedupe.hotspots import hotspot
from gateway.dedupe.landmarks import LandmarkError, Landmarks
from gateway.dedupe.locate import Locator
from gateway.dedupe.longstreet import STILL, is_long, length_m, together
from gateway.dedupe.neighbours import Neighbours
from gateway.dedupe.ownwords import asks, own_words
from gateway.dedupe.place import Place
from gateway.dedupe.placing import NUMBER_M, PRECISE_M, pinned, place_fit
from gateway.dedupe.records import CandidateIndex, CandidateQuery, Entry, Outcome, Probe, Scored
from gateway.dedupe.register import Street, StreetRegister
from gateway.dedupe.rival import elsewhere, rival
from gateway.dedupe.shared import KEPT_FOR_TWIN, Shared, partners, twin_kinds
from gateway.dedupe.text import AGAIN, content_string
from gateway.melding import Melding

MAX_STREET_CELLS = 36  # a long street is found through its name, not through every cell it crosses
ELSEWHERE_M = 300.0  # how far a street-level match's problem is searched for a pin elsewhere
AGAIN_AFTER = timedelta(days=7)  # "weer kapot" this long after a report: fixed in between?
MIN_TEXT = 0.35  # below this the texts share too little, however close the places
# "weer een tak", "nog een matras", "another branch", "un autre", "encore une": a second one?
# (Not "nog een keer", "another time", "une autre fois": once more.)
ANOTHER = re.compile(
    r"\b(?:(?:weer|nog|opnieuw) een (?:(?:nieuwe?|andere?|tweede) )?"
    r"(?!keer\b|paar\b|beetje\b|dag|week|maand|tijdje\b|vraag|melding|mail)\w+"
    r"|een (?:tweede|andere|nieuwe)|(?:another|a second)(?! (?:time|day|week|month|question|email))"
    r"|(?:une? autre|encore une?|une? nouvel\w*)(?! (?:fois|jour|semaine|question)))\b"
)


class Deduper:
    def __init__(self, config: DedupeConfig, register: StreetRegister, landmarks: Landmarks | None = None):
        self.config = config
        self.register = register
        self.locator = Locator(register, config.deelgemeenten)
        self.landmarks = landmarks or Landmarks([])
        self.grid = Grid(config.cell_m, ref_lat=_reference_latitude(register))
        self.neighbours = Neighbours(register)

    # -- features --------------------------------------------------------------------------------

    def probe(self, melding: Melding, dienst: str | None = None) -> Probe:
        dienst = dienst or melding.dienst
        text = "\n".join(t for t in (melding.subject, melding.text) if t)
        own = own_words(melding.subject, melding.text)
        words = own.joined if own.quoted else text
        loc = melding.location
        by_text = (loc.lat is None or loc.lon is None) and not (loc.street or loc.address)
        place = None
        if by_text and own.quoted:  # where the own words name a place, that one; else the thread's
            place = self.locator.from_text(words)
            if place.source == "none" and own.reply:
                # The quoted mail, which says where: a "Re:" subject's street would win over it.
                place = self.locator.from_text(melding.text)
        if place is None or place.source == "none":
            place = self.locator.locate(melding)
        place = self.landmarks.refine(place, words[:4000])
        normalized = normalize_text(text[:4000])  # "weer", "nog altijd", "na de herstelling": the whole text
        mine = normalize_text(words[:4000]) if words != text else normalized
        found = kinds.detect(dienst, mine)
        problems = {k for k in found if not kinds.BY_NAME[k].attribute} if found else set()
        # Only a reply or a question is judged by what its own words name outside its dienst.
        question = not problems and asks(own.text)
        named = kinds.problem_diensten(mine) if not problems and (own.reply or question) else []
        others = [d for d, _ in named] if own.reply else []
        policy = self.config.policy(dienst)
        window = self.config.window(dienst, found) if policy and dienst else timedelta(0)
        found |= twin_kinds(dienst, mine, found)
        return Probe(
            id=melding.id,
            dienst=dienst,
            received_at=melding.received_at,
            place=place,
            kinds=found,
            text=content_string(words[:4000]),
            window=window,
            another=ANOTHER.search(normalized) is not None,
            again=AGAIN.search(normalized) is not None,
            still=STILL.search(normalized) is not None,
            elsewhere=others[0] if others and dienst not in others else None,
            question=question and not named,
        )

    def entry(self, probe: Probe, master_id: str | None = None) -> Entry:
        p = probe.place
        assert probe.dienst is not None
        return Entry(
            id=probe.id,
            master_id=master_id or probe.id,
            dienst=probe.dienst,
            received_at=probe.received_at,
            lat=p.lat,
            lon=p.lon,
            radius_m=p.radius_m,
            street_key=p.street_key,
            number=p.number,
            kinds=probe.kinds,
            text=probe.text,
            cell=self.grid.cell(p.lat, p.lon) if p.lat is not None and p.lon is not None else None,
            corner_key=p.corner_key,
        )

    # -- the whole step ------------------------------------------------------------------------------

    def process(self, index: CandidateIndex, melding: Melding, dienst: str | None = None) -> Outcome:
        """Locate, decide, and record the melding in the index (and a hotspot when one arises)."""
        return self.decide(index, self.probe(melding, dienst))

    def decide(self, index: CandidateIndex, probe: Probe, *, hotspots: bool = True) -> Outcome:
        if probe.window <= timedelta(0) or probe.dienst is None:
            return Outcome(probe.place, probe.kinds, None, None, None, None)
        scored, count = self.scored(index, probe)
        best = _best(scored)
        match = None
        other = rival(scored, best, self.config)
        if best is not None and other is not None:
            for s in scored:  # both problems, each by its best report, go to the desk
                if s.entry.master_id in (best.entry.master_id, other.entry.master_id):
                    s.cap(self.config.threshold)
            best.reason += f"; {other.entry.master_id} fits as well: the desk decides"
        if probe.question:
            for s in scored:
                s.cap(self.config.threshold, "a question that names no problem")
        if probe.elsewhere is not None:
            for s in scored:
                s.cap(self.config.threshold, f"its own words name a {probe.elsewhere} problem")
        if best is not None and best.score >= self.config.threshold:
            match = DuplicateMatch(best.entry.master_id, round(best.score, 3), best.reason)
        entry = self.entry(probe, match.master_id if match else None)
        index.add(entry)
        raised = hotspot(index, entry, self.config, self.grid) if match is None and hotspots else None
        return Outcome(
            place=probe.place,
            kinds=probe.kinds,
            match=match,
            best_score=round(best.score, 3) if best else None,
            best_reason=best.reason if best else None,
            entry=entry,
            hotspot=raised,
            candidates=count,
            suggestions=() if match else self.suggestions(scored),
        )

    def suggestions(self, scored: list[Scored]) -> tuple[Suggestion, ...]:
        """Problems below the threshold but plausible, one per problem (its best report), best first."""
        per_problem: dict[str, Scored] = {}
        for s in scored:
            if s.score >= self.config.suggest_threshold:
                held = per_problem.get(s.entry.master_id)
                if held is None or s.score > held.score:
                    per_problem[s.entry.master_id] = s
        ranked = sorted(per_problem.values(), key=lambda s: (-s.score, s.entry.received_at))
        return tuple(
            Suggestion(s.entry.master_id, round(s.score, 3), s.reason)
            for s in ranked[: self.config.max_suggestions]
        )

    def best(self, index: CandidateIndex, probe: Probe) -> tuple[Scored | None, int]:
        """The best scoring candidate (linked or not) and how many candidates the index gave."""
        scored, count = self.scored(index, probe)
        return _best(scored), count

    def scored(self, index: CandidateIndex, probe: Probe) -> tuple[list[Scored], int]:
        """Every candidate that scores at all, and how many candidates the index gave."""
        blocks = self.blocks(probe)
        if blocks is None or probe.dienst is None:
            return [], 0
        cells, keys = blocks
        # A pair may use the longer of its two windows (a persistent problem reported again
        # in other words): fetch what the dienst's longest window reaches, judge per pair.
        reach = max(probe.window, self.config.longest_window(probe.dienst))
        since, until = probe.received_at - reach, probe.received_at + reach
        found: list[Scored] = []
        query = CandidateQuery(probe.dienst, cells, keys, since=since, until=until, exclude=probe.id)
        fetched = list(index.candidates(query))
        for entry in fetched:
            scored = self.score(probe, entry)
            if scored is not None:
                found.append(scored)
        count = len(fetched)
        if found:  # each only doubts what was found
            self._placed_elsewhere(index, probe, found, (since, until))
            self._numbered_elsewhere(probe, found, fetched)
            self._corner_elsewhere(probe, found, fetched)
        for shared, other in partners(probe.dienst, probe.kinds):
            count += self._across(index, probe, shared, other, found, blocks)
        return found, count

    def _placed_elsewhere(
        self, index: CandidateIndex, probe: Probe, found: list[Scored], span: tuple[datetime, datetime]
    ) -> None:
        """A pin that meets a problem only through a report "somewhere on this street", while
        another report of that problem is pinned or numbered clearly elsewhere: not that problem
        (a second lamp 150 m on), or not surely: at most a suggestion."""
        p, policy = probe.place, self.config.policy(probe.dienst)
        vague = [s for s in found if s.street_level and s.score >= self.config.threshold]
        if not vague or policy is None or p.lat is None or p.lon is None or (p.radius_m or 0) > PRECISE_M:
            return
        # The problem's pinned reports lie beyond the cells searched for this pin: look wider.
        cells = self.grid.cells_around(p.lat, p.lon, ELSEWHERE_M)
        wider = CandidateQuery(probe.dienst, cells, [], since=span[0], until=span[1], exclude=probe.id)
        spots = [e for e in index.candidates(wider) if e.has_point]
        for s in vague:
            spot = elsewhere(p, [e for e in spots if e.master_id == s.entry.master_id], policy.radius_m)
            if spot is not None:
                s.cap(self.config.threshold, f"its report {spot} is placed elsewhere: the desk decides")

    def _corner_elsewhere(self, probe: Probe, found: list[Scored], fetched: list[Entry]) -> None:
        """A report at a corner ("aan t kruispunt met de Tacklaan") that meets a problem only
        "somewhere on this street", through a report as vague as itself, while another report of
        that problem is pinned or numbered far from that corner (gateway.dedupe.corner): not
        surely that problem, at most a suggestion."""
        p, policy = probe.place, self.config.policy(probe.dienst)
        street = self.register.streets.get(p.street_key or "")
        if not p.corner_key or street is None or policy is None:
            return
        for s in found:
            if not s.street_level or s.score < self.config.threshold:
                continue
            for e in fetched:
                if e.master_id != s.entry.master_id:
                    continue
                why = away_from_corner(self.register, p, e, street, policy.radius_m)
                if why is not None:
                    s.cap(self.config.threshold, f"its report {e.id}: {why}; the desk decides")
                    break

    def _numbered_elsewhere(self, probe: Probe, found: list[Scored], fetched: list[Entry]) -> None:
        """On one side of a street the house numbers decide (placing.place_fit): a report at nr 75
        that meets a problem through a pin near its rough address point, while another report of
        that problem says nr 107, is not surely that problem (a second lamp 60 m on): the desk decides."""
        p, policy = probe.place, self.config.policy(probe.dienst)
        if p.number is None or not p.street_key or policy is None:
            return
        linked = [s for s in found if s.score >= self.config.threshold and not _numbered_on(s.entry, p)]
        if not linked:
            return
        far: dict[str, Entry] = {}
        for e in fetched:
            if _numbered_on(e, p) and int(e.number or 0) % 2 == int(p.number) % 2:
                gap = abs(p.number - (e.number or 0)) * self.config.metres_per_house_number
                if closeness(gap, policy.radius_m, NUMBER_M, NUMBER_M) <= 0.0:
                    far.setdefault(e.master_id, e)
        for s in linked:
            other = far.get(s.entry.master_id)
            if other is not None and other.number is not None:
                number = f"{other.number:g}"
                s.cap(self.config.threshold, f"its report {other.id} says nr {number}: the desk decides")

    def _across(
        self,
        index: CandidateIndex,
        probe: Probe,
        shared: Shared,
        other: str,
        found: list[Scored],
        own_blocks: tuple[list[str], list[str]],
    ) -> int:
        """Candidates of the other dienst of a shared problem (a lamp at a crossing routed to
        signalisatie, its twin to verlichting), judged as the owner's problem: linked only when
        both name the same owner's kind, else at most suggested."""
        owner_policy, own_policy = self.config.policy(shared.owner), self.config.policy(probe.dienst)
        if self.config.policy(other) is None or owner_policy is None or own_policy is None:
            return 0
        owned = frozenset(k for k in probe.kinds if k.startswith(shared.owner + "."))
        as_owner = replace(
            probe, dienst=shared.owner, kinds=owned, window=self.config.window(shared.owner, owned)
        )
        # The streets under a pin do not depend on the dienst; the cells only on its radius.
        same_reach = owner_policy.radius_m == own_policy.radius_m
        blocks = own_blocks if same_reach else self.blocks(as_owner, street_keys=own_blocks[1])
        if blocks is None:
            return 0
        reach = max(as_owner.window, self.config.longest_window(shared.owner))
        since, until = probe.received_at - reach, probe.received_at + reach
        count = 0
        query = CandidateQuery(other, *blocks, since=since, until=until, exclude=probe.id)
        for entry in index.candidates(query):
            count += 1
            theirs = frozenset(k for k in entry.kinds if k.startswith(shared.owner + "."))
            if not theirs & shared.kinds or (other == shared.other and shared.gate not in entry.kinds):
                continue
            scored = self.score(as_owner, replace(entry, kinds=theirs))
            if scored is None:
                continue
            # Judged afresh for the other dienst: its own doubts are not carried over as a cap.
            reason = f"{scored.reason}; reported to {other}"
            as_theirs = Scored(entry, scored.score, reason, street_level=scored.street_level)
            if kinds.agreement(owned, theirs) != 1.0 and as_theirs.score >= self.config.threshold:
                as_theirs.cap(self.config.threshold, "not quite the same problem: the desk decides")
            found.append(as_theirs)
        return count

    # -- blocking --------------------------------------------------------------------------------

    def blocks(
        self, probe: Probe, street_keys: list[str] | None = None
    ) -> tuple[list[str], list[str]] | None:
        """(grid cells, street keys) where candidates for this probe can be (`street_keys`: those
        already found for this place)."""
        policy = self.config.policy(probe.dienst)
        if policy is None:
            return None
        p = probe.place
        cells: set[str] = set()
        keys: set[str] = set()
        if p.street_key:
            keys.add(p.street_key)
        if p.lat is not None and p.lon is not None:
            own = p.radius_m or 0.0
            if own <= PRECISE_M:
                # As far as a point candidate can score (see closeness.closeness); street-level candidates
                # are found through the keys of the streets this point lies on.
                reach = policy.radius_m + 0.5 * (own + PRECISE_M)
                cells.update(self.grid.cells_around(p.lat, p.lon, reach))
                if street_keys is None:
                    keys.update(s.key for s, _ in self.register.near(p.lat, p.lon))
                else:
                    keys.update(street_keys)
            else:
                street = self.register.streets.get(p.street_key or "")
                along = None
                if street is not None and street.bbox is not None:
                    margin = policy.radius_m + PRECISE_M
                    along = self.grid.cells_in_bbox(street.bbox, margin, MAX_STREET_CELLS)
                if along is None and own <= 400:
                    along = self.grid.cells_around(p.lat, p.lon, own)
                    along = along if len(along) <= MAX_STREET_CELLS else None
                cells.update(along or ())
        if not cells and not keys:
            return None
        return sorted(cells), sorted(keys)

    # -- scoring ---------------------------------------------------------------------------------

    def score(self, probe: Probe, entry: Entry) -> Scored | None:
        assert probe.dienst is not None
        window = max(probe.window, self.config.window(probe.dienst, entry.kinds))
        apart = abs(probe.received_at - entry.received_at)
        if apart > window:
            return None
        policy = self.config.policy(probe.dienst)
        assert policy is not None
        per_number = self.config.metres_per_house_number
        fit = place_fit(self.register, per_number, probe.place, entry, policy.radius_m)
        place, place_why = fit.score, fit.why
        if place <= 0:
            return None
        mine, theirs = probe.kinds, entry.kinds
        agreement = kinds.agreement(mine, theirs)
        doubt = None  # why this pair is at most a suggestion
        if agreement == 0.0:
            # The owner's kinds kept for a twin in its dienst (`_across`) do not make a lamp at
            # a crossing and its paint more different than they were.
            kept = KEPT_FOR_TWIN.get(probe.dienst, frozenset())
            near = kinds.near(mine - kept, theirs - kept)
            if near is None:
                return None  # a different problem, however close
            agreement, doubt = 0.75, f"different problems? {near}"
        similarity = fuzz.token_set_ratio(probe.text, entry.text) / 100 if probe.text and entry.text else 0.0
        if agreement is None:
            text = 0.15 + 0.65 * similarity
            kind_why = "kind unknown"
        else:
            text = 0.6 * agreement + 0.4 * similarity
            shared = sorted(mine & theirs)
            kind_why = ("same " if agreement == 1.0 else "related ") + (",".join(shared) or "problem")
        if text < MIN_TEXT:
            return None
        ws, wt = self.config.space_weight, self.config.time_weight
        recent = 1.0 - apart / window if window else 0.0  # reports of one problem come close together
        total = ws * place + (1 - ws - wt) * text + wt * recent
        days = apart.total_seconds() / 86400
        reason = f"{place_why}; {kind_why}; text {similarity:.2f}; {days:.1f} days apart"
        if doubt is None and total >= self.config.threshold:
            doubt = fit.doubt or self.neighbours.apart(probe.place, entry)
            if doubt is None and fit.along is not None:
                doubt = away_from_corner(self.register, probe.place, entry, fit.along, policy.radius_m)
                if doubt is None:
                    reason, doubt = self._long_street(probe, entry, fit.along, apart, reason)
            if doubt is None and probe.again and apart > AGAIN_AFTER:
                doubt = f"says broken again, {days:.0f} days on"
            if doubt is None and agreement is not None and agreement < 1.0 and apart > 0.5 * window:
                # Only related (a mattress then cardboard and a carpet) and far into the window:
                # a second pile as likely as the first one told again.
                doubt = "related only, late in the window"
            if doubt is None and agreement is not None and agreement < 1.0 and _other_house(probe, entry):
                # A fridge at nr 11, a mattress and a couch at nr 21: two piles as likely as one.
                doubt = "related only, at another house"
        scored = Scored(entry, total, reason, street_level=fit.street_level)
        if doubt is not None and total >= self.config.threshold:
            scored.cap(self.config.threshold, f"{doubt}: the desk decides")
        if probe.another and not pinned(probe.place, entry):
            # "Weer een tak afgebroken in de Spoorweglaan": a second branch, or the same one told
            # again? Somewhere on one street cannot tell: the desk decides.
            scored.cap(self.config.threshold, "says another one, place too vague to link")
        return scored

    def _long_street(
        self, probe: Probe, entry: Entry, street: Street, apart: timedelta, reason: str
    ) -> tuple[str, str | None]:
        """A pair that meets only "somewhere on" a street many times the dienst's reach long:
        at most a suggestion unless something else places both together (gateway.dedupe.longstreet).
        Returns the reason (told what placed them together) and the doubt, if any."""
        policy = self.config.policy(probe.dienst)
        assert policy is not None
        if not is_long(street, policy.radius_m, self.config.long_street_reaches):
            return reason, None
        within = timedelta(hours=self.config.long_street_hours)
        why = together(probe, entry, apart, within)
        reaches = f"{probe.dienst} reaches {policy.radius_m:.0f} m"
        long = f"{street.name} is {length_m(street):.0f} m long ({reaches})"
        if why:
            return f"{reason}; {long}, but {why}", None
        return reason, f"{long}, nothing places both near each other"


def load_deduper(settings: Settings) -> Deduper:
    """The configured deduper: `dedupe_file` and `street_register_file` (errors are ConfigErrors)."""
    config = load_config(settings.dedupe_file)
    register = StreetRegister.from_files(settings.street_register_file, config.address_points)
    try:
        landmarks = Landmarks.from_file(config.landmarks, register)
    except LandmarkError as exc:
        raise DedupeConfigError(str(exc)) from None
    return Deduper(config, register, landmarks)


def _numbered_on(e: Entry, p: Place) -> bool:
    """The report gives a house number on the street of place `p`."""
    return e.number is not None and e.street_key == p.street_key


def _best(scored: list[Scored]) -> Scored | None:
    """The highest score; on a tie the earliest report."""
    return min(scored, key=lambda s: (-s.score, s.entry.received_at), default=None)


def _other_house(probe: Probe, entry: Entry) -> bool:
    """Both give a house number, a few houses apart (more than three on one side)."""
    mine, theirs = probe.place.number, entry.number
    return mine is not None and theirs is not None and abs(mine - theirs) > 6


def _reference_latitude(register: StreetRegister) -> float:
    lats = [s.lat for s in register.streets.values() if s.lat is not None]
    return sum(lats) / len(lats) if lats else 50.83
