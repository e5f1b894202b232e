"""The tracking page's small map: an inline SVG of the streets around the place, no tile server.

The streets come from the street register in the repository (config/streets.csv and the address
points named by config/dedupe.toml): a street is drawn as a line through its address points, or
as a dot at its centre when only that is known, with its name beside it. Coordinates are projected
onto metres around the place (equirectangular: exact enough over a few hundred metres), so the
page needs nothing from the network and renders offline.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from gateway.config import ConfigError
from gateway.dedupe import config as dedupe_config
from gateway.dedupe.register import Street, StreetRegister

log = logging.getLogger(__name__)

HALF_WIDTH_M = 200.0  # the map shows 400 x 300 metres around the place
HALF_HEIGHT_M = 150.0
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON = 111_320.0


@dataclass(frozen=True)
class MapStreet:
    name: str
    points: str  # SVG polyline points, "x,y x,y"; one point: drawn as a dot
    label_x: float
    label_y: float


@dataclass(frozen=True)
class StreetMap:
    view_box: str
    streets: tuple[MapStreet, ...]


@functools.cache
def register_of(streets_file: Path, dedupe_file: Path) -> StreetRegister | None:
    """The street register the maps draw (read once per pair of files; None when it cannot be)."""
    try:
        points = dedupe_config.load(dedupe_file).address_points
        return StreetRegister.from_files(streets_file, points)
    except (ConfigError, OSError) as exc:
        log.warning("no street register for the tracking map: %s", exc)
        return None


@functools.lru_cache(maxsize=4096)
def street_map(streets_file: Path, dedupe_file: Path, lat: float, lon: float) -> StreetMap:
    """The streets within the map's frame around (lat, lon); the place itself is at (0, 0). Kept
    per place (a frozen value): projecting every street of the register again on each view of the
    same melding's page or tracking page is work the answer does not need."""
    register = register_of(streets_file, dedupe_file)
    drawn = []
    for street in register.streets.values() if register else ():
        xy = [project(p_lat, p_lon, lat, lon) for p_lat, p_lon in street_points(street)]
        inside = [p for p in xy if abs(p[0]) <= HALF_WIDTH_M * 1.5 and abs(p[1]) <= HALF_HEIGHT_M * 1.5]
        if not inside:
            continue
        # The name beside the street's middle part in view, clear of the marker at the centre.
        label = sorted(inside, key=lambda p: abs(p[0]) + abs(p[1]))[len(inside) // 2]
        if abs(label[0]) + abs(label[1]) < 40:
            label = (label[0] + 20, label[1] + 30)
        drawn.append(MapStreet(street.name, " ".join(f"{x:.0f},{y:.0f}" for x, y in xy), *label))
    box = f"{-HALF_WIDTH_M:.0f} {-HALF_HEIGHT_M:.0f} {2 * HALF_WIDTH_M:.0f} {2 * HALF_HEIGHT_M:.0f}"
    return StreetMap(view_box=box, streets=tuple(sorted(drawn, key=lambda s: s.name)))


def street_at(streets_file: Path, dedupe_file: Path, lat: float, lon: float) -> str | None:
    """The register's street most likely through a map pin (None when none is near): a pin alone
    still gets its street's name in words."""
    register = register_of(streets_file, dedupe_file)
    near = [(sure, s.kind == "street", s.name) for s, sure in (register.near(lat, lon) if register else [])]
    return max(near)[2] if near else None


def street_points(street: Street) -> list[tuple[float, float]]:
    """A street's points as drawn: its address points along its longer axis, or its centre."""
    if len(street.anchors) >= 2:
        points = [(a.lat, a.lon) for a in street.anchors]
        # Along the street's longer axis: by house number, odd and even sides would zigzag.
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        along_lon = (max(lons) - min(lons)) * 0.63 > max(lats) - min(lats)  # 0.63: cos(50.8 deg)
        return sorted(points, key=lambda p: p[1] if along_lon else p[0])
    if street.lat is not None and street.lon is not None:
        return [(street.lat, street.lon)]
    return []


def project(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    """Metres east (x) and south (y, as SVG counts) of (lat0, lon0)."""
    return (
        (lon - lon0) * _M_PER_DEG_LON * math.cos(math.radians(lat0)),
        (lat0 - lat) * _M_PER_DEG_LAT,
    )
