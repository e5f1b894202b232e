"""How likely two places are one spot (gateway.dedupe.placing, gateway.dedupe.rival)."""

from __future__ import annotations

from typing import NamedTuple

from gateway.dedupe.register import Street


class PlaceFit(NamedTuple):
    """How well two places fit (placing.place_fit): the score, its reason for the desk, and whether
    they meet only as "somewhere on one street" (what gateway.dedupe.rival doubts)."""

    score: float
    why: str
    street_level: bool = False
    doubt: str = ""  # why the fit, however high, is at most a suggestion ("": no doubt)
    along: Street | None = None  # the street of a street-level fit (gateway.dedupe.longstreet)


def closeness(d: float, reach: float, u1: float, u2: float) -> float:
    """1 for the same spot, falling to 0 at `reach` metres plus half the two uncertainties."""
    tolerance = reach + 0.5 * (u1 + u2)
    full = 0.25 * tolerance
    if d <= full:
        return 1.0
    if d >= tolerance:
        return 0.0
    return 1.0 - (d - full) / (tolerance - full)


def street_level(street: Street | None) -> float:
    """ "Somewhere on this street": a square almost pins a problem down, a steenweg does not."""
    if street is None or not street.has_position:
        return 0.5
    if street.radius_m <= 120:
        return 0.75
    if street.radius_m <= 320:
        return 0.6
    if street.radius_m <= 650:
        return 0.5
    return 0.4
