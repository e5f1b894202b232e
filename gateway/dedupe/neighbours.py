"""Two reports on neighbouring streets: the distance rule behind "same problem, other street".

A dienst's radius is how far apart two reports of one problem may be placed: 250 m for a missed
collection, 60 m for a pile of dumped waste. That radius easily spans the next street: PMD not
collected in the Toekomststraat and in the Boerderijstraat, 90 m apart, are two streets' bags,
and dumped bags in the Stompaertshoek are not the pile pinned on the Veemarkt around the corner.
So when both reports say (or their pins show) which street they are on, those streets differ,
and the two places are more than `CORNER_M` apart, the pair is no automatic link: the desk may
still be asked (a suggestion). At a corner (both within `CORNER_M`) two street names are one
spot.
"""

from __future__ import annotations

from typing import Protocol

from gateway.dedupe.geo import distance_m
from gateway.dedupe.register import StreetRegister


class Placed(Protocol):
    """A melding's place as the finder keeps it (gateway.dedupe.place.Place, records.Entry)."""

    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def radius_m(self) -> float | None: ...
    @property
    def street_key(self) -> str | None: ...


CORNER_M = 50.0  # two street names within this are one crossing, corner, or a square and its street
ANCHOR_M = 20.0  # a pin this close to an address point of a street (and no other) is on that street
POINT_M = 150.0  # a position this certain (a pin, a placed house number) says which street it is on


class Neighbours:
    """The rule, with the streets under each pin remembered (a candidate is judged again and again)."""

    def __init__(self, register: StreetRegister) -> None:
        self.register = register
        self._pins: dict[tuple[float, float], frozenset[str]] = {}

    def apart(self, p: Placed, e: Placed) -> str | None:
        """Why two placed reports are on neighbouring streets, or None (same street, or unknown)."""
        if p.street_key and p.street_key == e.street_key:
            return None
        register = self.register
        p_point = _point(p.lat, p.lon, p.radius_m)
        e_point = _point(e.lat, e.lon, e.radius_m)
        p_streets = self._streets(p.street_key, p_point)
        e_streets = self._streets(e.street_key, e_point)
        if not p_streets or not e_streets or p_streets & e_streets:
            return None
        if p_point is not None and e_point is not None:
            d = distance_m(p_point[0], p_point[1], e_point[0], e_point[1])
            if d <= CORNER_M:
                return None
            return f"{_name(register, p_streets)} and {_name(register, e_streets)}, {d:.0f} m apart"
        # One side only names its street: the other side's pin lies on another street, not on it.
        point, named = (p_point, e.street_key) if p_point is not None else (e_point, p.street_key)
        street = register.streets.get(named or "")
        if point is None or street is None or not street.has_position:
            return None
        pinned = p_streets if p_point is not None else e_streets
        if street.on_street(*point) >= 1.0 and not _at_address(register, point, pinned):
            return None  # the pin may well lie on the named street too
        return f"a pin on {_name(register, pinned)}, not on {street.name}"

    def _streets(self, key: str | None, point: tuple[float, float] | None) -> frozenset[str]:
        """The street a report names, else the streets whose known extent the pin lies on (several
        at a corner, or where the register's extents are coarse)."""
        if key:
            named = self.register.streets.get(key)
            if named is None or named.kind != "landmark":
                return frozenset({key})
            # A landmark (the belfry, a car park) is no street: it stands on or beside one, so
            # a pin on the Grote Markt is no other street than "at the belfry". Its position says.
        if point is None:
            return frozenset()
        known = self._pins.get(point)
        if known is None:
            if len(self._pins) >= 50_000:
                self._pins.clear()  # a long-running worker: forget rather than grow
            known = self._pins[point] = _pin_streets(self.register, point)
        return known


def _point(lat: float | None, lon: float | None, radius: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None or (radius or 0.0) > POINT_M:
        return None
    return lat, lon


def _pin_streets(register: StreetRegister, point: tuple[float, float]) -> frozenset[str]:
    near = register.near(*point)
    keys = [s for s, sure in near if sure >= 1.0]
    if not keys:
        return frozenset()  # on no street's known extent: which street is not known
    if len(keys) > 1:
        # Several extents reach the pin (a corner, or a coarse register): an address point
        # right under it says which street it is on.
        by_anchor = sorted(
            (min(distance_m(point[0], point[1], a.lat, a.lon) for a in s.anchors), s.key)
            for s in keys
            if s.anchors
        )
        if (
            by_anchor
            and by_anchor[0][0] <= ANCHOR_M
            and (len(by_anchor) == 1 or by_anchor[1][0] > 2 * ANCHOR_M)
        ):
            return frozenset({by_anchor[0][1]})
    return frozenset(s.key for s in keys)


def _name(register: StreetRegister, keys: frozenset[str]) -> str:
    names = sorted(register.streets[k].name if k in register.streets else k for k in keys)
    return "/".join(names)


def _at_address(register: StreetRegister, point: tuple[float, float], keys: frozenset[str]) -> bool:
    """The pin lies on an address point of (one of) these streets: it says which street it is on."""
    return any(
        distance_m(point[0], point[1], a.lat, a.lon) <= ANCHOR_M
        for k in keys
        if k in register.streets
        for a in register.streets[k].anchors
    )
