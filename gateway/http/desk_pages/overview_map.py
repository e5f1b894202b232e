"""The overview's hotspot map: an inline SVG of the register's streets with a dot per hotspot, drawn
as the tracking page's map is (gateway/http/tracking_map.py): no tile server, nothing from the
network, no script. The frame is the hotspots' extent with a margin (at least 800 x 600 metres)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.http.tracking_map import MapStreet, project, register_of, street_points  # its own drawing

MARGIN_M = 150.0
MIN_HALF_WIDTH_M, MIN_HALF_HEIGHT_M = 400.0, 300.0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    label: str  # the dot's <title>: dienst, count, references


@dataclass(frozen=True)
class HotspotMap:
    view_box: str
    streets: tuple[MapStreet, ...]
    dots: tuple[Dot, ...]


def hotspot_map(
    streets_file: Path, dedupe_file: Path, spots: list[tuple[float, float, int, str]]
) -> HotspotMap | None:
    """(lat, lon, count, label) per hotspot; None without any."""
    if not spots:
        return None
    lat0 = (min(s[0] for s in spots) + max(s[0] for s in spots)) / 2
    lon0 = (min(s[1] for s in spots) + max(s[1] for s in spots)) / 2
    xy = [project(lat, lon, lat0, lon0) for lat, lon, _n, _label in spots]
    half_w = max(MIN_HALF_WIDTH_M, max(abs(x) for x, _y in xy) + MARGIN_M)
    half_h = max(MIN_HALF_HEIGHT_M, max(abs(y) for _x, y in xy) + MARGIN_M)
    half_w, half_h = max(half_w, half_h * 4 / 3), max(half_h, half_w * 3 / 4)  # a 4:3 frame
    register = register_of(streets_file, dedupe_file)
    drawn = []
    for street in register.streets.values() if register else ():
        line = [project(p_lat, p_lon, lat0, lon0) for p_lat, p_lon in street_points(street)]
        inside = [p for p in line if abs(p[0]) <= half_w and abs(p[1]) <= half_h]
        if inside:
            label = inside[len(inside) // 2]
            drawn.append(MapStreet(street.name, " ".join(f"{x:.0f},{y:.0f}" for x, y in line), *label))
    dots = tuple(
        Dot(x, y, min(8 + 2 * n, 30) * half_w / 400, label)
        for (x, y), (_lat, _lon, n, label) in zip(xy, spots, strict=True)
    )
    box = f"{-half_w:.0f} {-half_h:.0f} {2 * half_w:.0f} {2 * half_h:.0f}"
    return HotspotMap(box, tuple(sorted(drawn, key=lambda s: s.name)), dots)
