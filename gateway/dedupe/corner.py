"""A crossing named in the text: "lamp uit in de Aalbeeksesteenweg aan t kruispunt met de Tacklaan".

Such a report names no house number, so it meets a pin (or a placed house number) on the same
street only as "somewhere on this street" (gateway.dedupe.placing). On a short street that is
as good as one spot, but the corner says which end: a pin much farther from the crossing street
than the street itself comes is at its other end, another lamp. Then the pair is at most a
suggestion (the desk decides).

The register's extents are coarse (parking meters, not the street's whole length): the crossing
may lie beyond both streets' known points. So the pin is not judged by its distance to the
crossing street alone but against how close the named street's own known points come to it.
"""

from __future__ import annotations

from gateway.dedupe.geo import distance_m
from gateway.dedupe.place import Place
from gateway.dedupe.placing import at_a_spot
from gateway.dedupe.records import Entry
from gateway.dedupe.register import Street, StreetRegister

CORNER_SLACK_M = 50.0  # beyond the dienst's reach: how much farther a pin may lie than the street comes


def away_from_corner(
    register: StreetRegister, p: Place, e: Entry, street: Street, reach: float
) -> str | None:
    """Why a street-level pair on `street` is doubtful because one report names a crossing its
    other report's point lies far from (None: no crossing named, no point, or near enough)."""
    if p.corner_key and at_a_spot(e):
        corner, point = p.corner_key, (e.lat, e.lon)
    elif e.corner_key and at_a_spot(p):
        corner, point = e.corner_key, (p.lat, p.lon)
    else:
        return None
    crossing = register.streets.get(corner)
    if crossing is None or crossing.key == street.key or not crossing.has_position:
        return None
    assert point[0] is not None and point[1] is not None
    pin = _distance_to(crossing, point[0], point[1])
    own = [(a.lat, a.lon) for a in street.anchors]
    if street.lat is not None and street.lon is not None:
        own.append((street.lat, street.lon))
    if not own:
        return None
    comes = min(_distance_to(crossing, lat, lon) for lat, lon in own)
    if pin <= comes + reach + CORNER_SLACK_M:
        return None
    far = f"the other lies {pin:.0f} m from it ({street.name} comes within {comes:.0f} m)"
    return f"one names the corner with {crossing.name}, {far}"


def _distance_to(street: Street, lat: float, lon: float) -> float:
    """How far a point is from a street's known extent, address points or centre."""
    found = [distance_m(lat, lon, a.lat, a.lon) for a in street.anchors]
    if street.bbox is not None:
        found.append(street.bbox.distance_m(lat, lon))
    if street.lat is not None and street.lon is not None:
        found.append(distance_m(lat, lon, street.lat, street.lon))
    return min(found, default=float("inf"))
