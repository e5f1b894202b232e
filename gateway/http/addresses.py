"""`GET /api/v1/addresses?q=`: address suggestions from the street register, for the citizen form.

A view may use the register (gateway.dedupe); the web channel may not, which is why this lives here.
The index is built once at start-up (`AddressIndex.from_settings`): every street name and alias,
folded and with abbreviations expanded as the register matches them ("Doorniksest." and
"doorniksesteenweg" meet), so a query costs one rapidfuzz pass over a few thousand short strings.
A house number in the query ("Budastraat 12") is kept and placed by the register's address points
when they know it; otherwise the street's own point.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from rapidfuzz import fuzz, process

from gateway.config import ConfigError, Settings
from gateway.dedupe.config import load as load_dedupe_config
from gateway.dedupe.register import Street, StreetRegister, parse_house_number
from gateway.dedupe.text import compact, name_tokens
from gateway.handling import error_body

log = logging.getLogger(__name__)

MIN_QUERY = 2
MAX_QUERY = 100
MAX_RESULTS = 10
# Below this score a suggestion is noise; 70 keeps one typo in a short name ("Budastrat").
MIN_SCORE = 70.0
PARTIAL_WEIGHT = 0.9  # a partial match ranks below a whole one of the same score
# "Budastraat 12", "Budastraat 12b, 8500": the street, then a house number.
_NUMBER = re.compile(r"^(?P<street>.*?[^\d\s,])[\s,]+(?P<number>\d{1,4}\s?[a-zA-Z]?)\b(?:[\s,].*)?$")


@dataclass(frozen=True)
class Suggestion:
    street: Street
    number: str | None
    score: float

    def as_json(self) -> dict[str, Any]:
        s = self.street
        lat, lon = s.lat, s.lon
        parsed = parse_house_number(self.number) if self.number else None
        if parsed is not None and (placed := s.position(*parsed)) is not None:
            lat, lon = placed[0], placed[1]
        postcode = s.postcodes[0] if s.postcodes else None
        place = s.deelgemeenten[0] if s.deelgemeenten else ""
        head = f"{s.name} {self.number}" if self.number else s.name
        tail = " ".join(p for p in (postcode, place) if p)
        return {
            "label": f"{head}, {tail}" if tail else head,
            "street": s.name,
            "number": self.number,
            "postcode": postcode,
            "lat": lat,
            "lon": lon,
        }


class AddressIndex:
    def __init__(self, register: StreetRegister):
        self._streets = register.streets
        # variant (compact folded name) -> the street keys it names; a variant is searched once.
        self._variants: dict[str, frozenset[str]] = {
            v: frozenset(keys) for v, keys in register.variants.items()
        }
        self._choices = list(self._variants)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressIndex:
        """The configured register; an empty index (logged) when it cannot be read: the form and the
        API must take meldingen in without suggestions rather than not start."""
        try:
            points = load_dedupe_config(settings.dedupe_file).address_points
            return cls(StreetRegister.from_files(settings.street_register_file, points))
        except (ConfigError, OSError) as exc:
            log.error("street register unreadable, no address suggestions: %s", exc)
            return cls(StreetRegister([]))

    @property
    def center(self) -> tuple[float, float] | None:
        """The middle of the register's known points: where the form's map opens."""
        placed = [(s.lat, s.lon) for s in self._streets.values() if s.lat is not None and s.lon is not None]
        if not placed:
            return None
        return sum(p[0] for p in placed) / len(placed), sum(p[1] for p in placed) / len(placed)  # type: ignore[misc]

    def _scored(self, key: str, wanted: int) -> list[tuple[str, float]]:
        """(variant, score): a typed beginning counts fully ("doornik" while typing), else the better
        of the whole-name ratio and the partial one (an abbreviated type: "doorniksest" in
        "doorniksesteenweg"). Each pass is one rapidfuzz call in C over every variant."""
        scores = {c: 100.0 for c in self._choices if c.startswith(key)}
        passes = [(fuzz.ratio, 1.0)]
        if len(key) >= 4:
            passes.append((fuzz.partial_ratio, PARTIAL_WEIGHT))
        for scorer, weight in passes:
            cutoff = MIN_SCORE / weight
            for choice, score, _ in process.extract(
                key, self._choices, scorer=scorer, score_cutoff=cutoff, limit=wanted
            ):
                if weight < 1.0 and len(choice) <= len(key):
                    continue  # partial only for a query shorter than the name: an abbreviation, a beginning
                scores[choice] = max(scores.get(choice, 0.0), score * weight)
        return sorted(scores.items(), key=lambda kv: -kv[1])[: wanted * 2]

    def search(self, query: str, limit: int = MAX_RESULTS) -> list[Suggestion]:
        match = _NUMBER.match(query.strip())
        name, number = (match["street"], match["number"].replace(" ", "")) if match else (query, None)
        key = compact(name_tokens(name))
        if not key:
            return []
        best: dict[str, float] = {}
        for variant, score in self._scored(key, limit * 3):
            for street_key in self._variants[variant]:
                best[street_key] = max(best.get(street_key, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], self._streets[kv[0]].name))[:limit]
        return [Suggestion(self._streets[k], number, score) for k, score in ranked]


ADDRESSES = web.AppKey("addresses", AddressIndex)


async def get_addresses(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not MIN_QUERY <= len(query) <= MAX_QUERY:
        return error_body(400, "invalid_query", f"q must be {MIN_QUERY} to {MAX_QUERY} characters", field="q")
    try:
        limit = int(request.query.get("limit", str(MAX_RESULTS)))
        if not 1 <= limit <= MAX_RESULTS:
            raise ValueError(limit)
    except ValueError:
        return error_body(
            400, "invalid_query", f"limit must be a number from 1 to {MAX_RESULTS}", field="limit"
        )
    found = request.app[ADDRESSES].search(query, limit)
    return web.json_response([s.as_json() for s in found], headers={"Cache-Control": "max-age=300"})
