"""The street register: the city's streets and landmarks, loaded from CSV.

`config/streets.csv` (setting `street_register_file`), one row per street or landmark:

    name,postcode,deelgemeente,kind,lat,lon,lat_min,lon_min,lat_max,lon_max,radius_m,aliases,source

- `kind`: `street` or `landmark` (a park, square, station, the canal: matched by name and
  aliases only, never fuzzily, as their names are common words).
- `lat`,`lon`: a representative point (centroid); empty when unknown. A street without
  coordinates is still matched by name (and duplicates on it found by name and house number).
- `lat_min`..`lon_max`: the street's extent, where known; `radius_m`: how far from `lat`,`lon`
  a point of the street may lie (default by street type when empty).
- `aliases`: other names, `|`-separated ("station|het station").

Optional address points next to it (`addresses.csv`, `[register] address_points` in
dedupe.toml) place house numbers: `street,postcode,house_number,lat,lon[,source]`, where
`house_number` may be a range ("61-63").

A city loads its official register instead with `python -m gateway.dedupe.register build`
(see `main` below and the README): it turns an address-points export (one row per address with
street, house number, postcode, WGS84 coordinates) into both files.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import ConfigError
from gateway.dedupe.geo import BBox, Grid, distance_m
from gateway.dedupe.text import TITLES, compact, fold, name_tokens, split_type

STREET_COLUMNS = (
    "name",
    "postcode",
    "deelgemeente",
    "kind",
    "lat",
    "lon",
    "lat_min",
    "lon_min",
    "lat_max",
    "lon_max",
    "radius_m",
    "aliases",
    "source",
)
POINT_COLUMNS = ("street", "postcode", "house_number", "lat", "lon", "source")

# How far a point of a street may lie from its representative point, by type, when the
# register gives no extent: squares are small, a steenweg crosses a deelgemeente.
_TYPE_RADIUS = {
    "steenweg": 1200.0,
    "weg": 500.0,
    "laan": 400.0,
    "dreef": 300.0,
    "kaai": 300.0,
    "straat": 250.0,
    "lei": 300.0,
    "vest": 300.0,
    "singel": 400.0,
    "dijk": 400.0,
    "baan": 600.0,
    "pad": 200.0,
    "reke": 100.0,
    "plaats": 100.0,
    "plein": 80.0,
}
_DEFAULT_RADIUS = 250.0
_LANDMARK_RADIUS = 150.0
EXTENT_MARGIN_M = 60.0  # a point this close to a street's known extent is on it
_RANGE = re.compile(r"^\s*(\d{1,4})\s*[a-zA-Z]?\s*(?:[-/]|tot|t/m)\s*(\d{1,4})")
_NUMBER = re.compile(r"^\s*(\d{1,4})")


class RegisterError(ConfigError):
    """The register file is unusable; the message names the file and line."""


@dataclass(frozen=True)
class Anchor:
    """Where house numbers `lo`..`hi` of a street are."""

    lo: int
    hi: int
    lat: float
    lon: float


@dataclass
class Street:
    key: str  # the street key: its compact normalized name (see text.compact)
    name: str
    kind: str  # street | landmark
    postcodes: list[str] = field(default_factory=list)
    deelgemeenten: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    bbox: BBox | None = None
    radius_m: float = _DEFAULT_RADIUS
    aliases: list[str] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    source: str = ""

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def on_street(self, lat: float, lon: float) -> float:
        """How sure a point lies on this street: 1 on its known extent, fading to 0 at `radius_m`."""
        if not self.has_position:
            return 0.0
        assert self.lat is not None and self.lon is not None
        if self.bbox is not None and self.bbox.distance_m(lat, lon) <= EXTENT_MARGIN_M:
            return 1.0
        if any(distance_m(lat, lon, a.lat, a.lon) <= EXTENT_MARGIN_M for a in self.anchors):
            return 1.0
        d = distance_m(lat, lon, self.lat, self.lon)
        if d <= EXTENT_MARGIN_M:
            return 1.0
        if d >= self.radius_m:
            return 0.0
        return 1.0 - 0.5 * (d - EXTENT_MARGIN_M) / max(self.radius_m - EXTENT_MARGIN_M, 1.0)

    def position(
        self, lo: int, hi: int | None = None, *, opposite: bool = False
    ) -> tuple[float, float, float] | None:
        """(lat, lon, uncertainty in metres) of house number(s) lo[-hi], from the address points;
        `opposite` ("tegenover 121"): across the street, so the other side's numbers are preferred."""
        if not self.anchors:
            return None
        hi = lo if hi is None else hi
        mid = (lo + hi) / 2
        best: tuple[float, float, Anchor] | None = None
        side = lo % 2 if lo % 2 == hi % 2 else None
        if opposite and side is not None:
            across = self._across(lo, hi, side)
            if across is not None:
                return across
        for a in self.anchors:
            gap = 0.0 if a.lo <= mid <= a.hi else min(abs(mid - a.lo), abs(mid - a.hi))
            # Odd and even numbers face each other but need not run level: prefer this side.
            if side is not None and a.lo % 2 == a.hi % 2 and a.lo % 2 != side:
                gap += 8
            rank = (gap, abs((a.lo + a.hi) / 2 - mid))  # the nearest, then the best centred
            if best is None or rank < best[:2]:
                best = (*rank, a)
        assert best is not None
        gap, _, anchor = best
        if gap > 30:
            return None
        spread = (anchor.hi - anchor.lo) + (hi - lo)
        uncertainty = min(20.0 + 2.0 * spread + 4.0 * gap, self.radius_m)
        return anchor.lat, anchor.lon, uncertainty

    def _across(self, lo: int, hi: int, side: int) -> tuple[float, float, float] | None:
        """The point of a house across from lo-hi: a precise one (a number or a short range) of the
        other side within two numbers. Coarse range points can lie 100 m on, so without such a
        point the number's own side is kept."""
        best: tuple[float, Anchor] | None = None
        for a in self.anchors:
            if a.lo % 2 == side or a.lo % 2 != a.hi % 2 or a.hi - a.lo > 4:
                continue
            gap = 0.0 if a.lo <= lo and hi <= a.hi else min(abs(lo - a.hi), abs(hi - a.lo), abs(lo - a.lo))
            if gap <= 2 and (best is None or gap < best[0]):
                best = (gap, a)
        if best is None:
            return None
        a = best[1]
        return a.lat, a.lon, min(20.0 + 2.0 * ((a.hi - a.lo) + (hi - lo)), self.radius_m)


@dataclass(frozen=True)
class NameMatch:
    keys: frozenset[str]
    how: str  # exact | alias | title-dropped | extra-type | other-type | base


class StreetRegister:
    """Streets by key, the name variants that find them, and a grid to find streets near a point."""

    def __init__(self, streets: Iterable[Street], deelgemeenten: dict[str, str] | None = None):
        self.streets: dict[str, Street] = {}
        for s in streets:
            if s.key in self.streets:
                _merge(self.streets[s.key], s)
            else:
                self.streets[s.key] = s
        self.deelgemeenten: dict[str, str] = dict(deelgemeenten or {})
        for s in self.streets.values():
            for dg, pc in zip(s.deelgemeenten, s.postcodes, strict=False):
                if dg:
                    self.deelgemeenten.setdefault(fold(dg), pc)
        self.variants: dict[str, dict[str, str]] = defaultdict(dict)  # variant -> {key: how}
        self.bases: dict[str, set[str]] = defaultdict(set)  # name without its type -> keys
        for s in self.streets.values():
            self._index_names(s)
        # Fuzzy matching runs on full street names only (landmarks are common words).
        self.fuzzy_choices: list[str] = sorted(
            {v for v, keys in self.variants.items() if any(self.streets[k].kind == "street" for k in keys)}
        )
        self._grid = Grid(250.0)
        self._cells: dict[str, list[str]] = defaultdict(list)
        for s in self.streets.values():
            if s.has_position:
                assert s.lat is not None and s.lon is not None
                for cell in self._grid.cells_around(s.lat, s.lon, s.radius_m):
                    self._cells[cell].append(s.key)

    def _index_names(self, s: Street) -> None:
        names = [(s.name, "exact")] + [(a, "alias") for a in s.aliases]
        for name, how in names:
            tokens = name_tokens(name)
            if not tokens:
                continue
            self.variants[compact(tokens)].setdefault(s.key, how)
            # "Minister Tacklaan" is also written "Tacklaan"; drop leading titles one by one.
            rest = list(tokens)
            while len(rest) > 1 and rest[0] in TITLES:
                rest = rest[1:]
                if len(compact(rest)) >= 6:
                    self.variants[compact(rest)].setdefault(s.key, "title-dropped")
            if s.kind == "street":
                parts = split_type(compact(tokens))
                if parts is not None:
                    self.bases[parts[0]].add(s.key)
                    if len(rest) < len(tokens):
                        trimmed = split_type(compact(rest))
                        if trimmed is not None and len(trimmed[0]) >= 4:
                            self.bases[trimmed[0]].add(s.key)
                else:
                    self.bases[compact(tokens)].add(s.key)  # "Grote Markt", "Doorniksewijk": no type

    def lookup(self, variant: str) -> NameMatch | None:
        """Exact and structural matches of a compact name (no fuzzy matching here)."""
        found = self.variants.get(variant)
        if found:
            hows = set(found.values())
            return NameMatch(frozenset(found), "exact" if "exact" in hows else next(iter(hows)))
        parts = split_type(variant)
        if parts is not None:
            base, _ = parts
            # "Grote Marktstraat" for "Grote Markt": a type too many.
            if base in self.variants and all(self.streets[k].kind == "street" for k in self.variants[base]):
                return NameMatch(frozenset(self.variants[base]), "extra-type")
            # "Loofplein" for "Loofstraat": right name, wrong type.
            if base in self.bases and len(base) >= 4:
                return NameMatch(frozenset(self.bases[base]), "other-type")
        return None

    def near(self, lat: float, lon: float) -> list[tuple[Street, float]]:
        """Streets that may pass through a point, with how sure (see Street.on_street)."""
        out = []
        for key in self._cells.get(self._grid.cell(lat, lon), ()):
            s = self.streets[key]
            sure = s.on_street(lat, lon)
            if sure > 0:
                out.append((s, sure))
        return out

    def __len__(self) -> int:
        return len(self.streets)

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def from_files(cls, streets_file: Path, points_file: Path | None = None) -> StreetRegister:
        streets = load_streets(streets_file)
        if points_file is not None:
            by_key = {s.key: s for s in streets}
            for key, anchor in load_points(points_file):
                if key in by_key:
                    by_key[key].anchors.append(anchor)
        for s in streets:
            s.anchors.sort(key=lambda a: (a.lo, a.hi))
        return cls(streets)


def street_key(name: str) -> str:
    return compact(name_tokens(name))


def default_radius(name: str, kind: str) -> float:
    if kind == "landmark":
        return _LANDMARK_RADIUS
    parts = split_type(street_key(name))
    return _TYPE_RADIUS.get(parts[1], _DEFAULT_RADIUS) if parts else _DEFAULT_RADIUS


def _float(row: dict[str, str], column: str, where: str) -> float | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RegisterError(f"{where}: {column} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise RegisterError(f"{where}: {column} {raw!r} is not a number")
    return value


def load_streets(path: Path) -> list[Street]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read the street register: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = {"name", "lat", "lon"} - set(reader.fieldnames or ())
        if missing:
            raise RegisterError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        out: list[Street] = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            name = (row.get("name") or "").strip()
            if not name:
                raise RegisterError(f"{where}: empty name")
            kind = (row.get("kind") or "street").strip() or "street"
            if kind not in ("street", "landmark"):
                raise RegisterError(f"{where}: kind must be street or landmark, not {kind!r}")
            lat, lon = _float(row, "lat", where), _float(row, "lon", where)
            if (lat is None) != (lon is None):
                raise RegisterError(f"{where}: give both lat and lon, or neither")
            if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise RegisterError(f"{where}: lat/lon out of range")
            box_values = [_float(row, c, where) for c in ("lat_min", "lon_min", "lat_max", "lon_max")]
            bbox = None
            if all(v is not None for v in box_values):
                bbox = BBox(*box_values)  # type: ignore[arg-type]
            radius = _float(row, "radius_m", where) or default_radius(name, kind)
            if bbox is not None:
                cy, cx = (lat, lon) if lat is not None and lon is not None else bbox.centre
                farthest = max(
                    distance_m(cy, cx, y, x)
                    for y in (bbox.lat_min, bbox.lat_max)
                    for x in (bbox.lon_min, bbox.lon_max)
                )
                radius = max(radius, farthest + EXTENT_MARGIN_M)
            key = street_key(name)
            if not key:
                raise RegisterError(f"{where}: name {name!r} has no letters")
            out.append(
                Street(
                    key=key,
                    name=name,
                    kind=kind,
                    postcodes=[(row.get("postcode") or "").strip()],
                    deelgemeenten=[(row.get("deelgemeente") or "").strip()],
                    lat=lat,
                    lon=lon,
                    bbox=bbox,
                    radius_m=radius,
                    aliases=[a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()],
                    source=(row.get("source") or "").strip(),
                )
            )
    return out


def parse_house_number(raw: str) -> tuple[int, int] | None:
    """(lo, hi) of "12", "12A", "61-63", "5 tot 9"; None when it does not start with a number."""
    m = _RANGE.match(raw)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return (lo, hi) if lo <= hi else (hi, lo)
    m = _NUMBER.match(raw)
    return (int(m.group(1)), int(m.group(1))) if m else None


def load_points(path: Path) -> list[tuple[str, Anchor]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read the address points: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = {"street", "house_number", "lat", "lon"} - set(reader.fieldnames or ())
        if missing:
            raise RegisterError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        out = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            numbers = parse_house_number(row.get("house_number") or "")
            lat, lon = _float(row, "lat", where), _float(row, "lon", where)
            if numbers is None or lat is None or lon is None:
                continue  # an address point without number or position places nothing
            out.append((street_key(row["street"]), Anchor(numbers[0], numbers[1], lat, lon)))
    return out


def _merge(into: Street, other: Street) -> None:
    """One street in two postcodes (a road crossing into a deelgemeente) is one street."""
    into.postcodes += [p for p in other.postcodes if p not in into.postcodes]
    into.deelgemeenten += [d for d in other.deelgemeenten if d not in into.deelgemeenten]
    into.aliases += [a for a in other.aliases if a not in into.aliases]
    if other.has_position:
        if not into.has_position:
            into.lat, into.lon, into.bbox, into.radius_m = other.lat, other.lon, other.bbox, other.radius_m
        else:
            boxes = [b for b in (into.bbox, other.bbox) if b is not None]
            assert into.lat is not None and into.lon is not None
            assert other.lat is not None and other.lon is not None
            points = [(into.lat, into.lon), (other.lat, other.lon)]
            for b in boxes:
                points += [(b.lat_min, b.lon_min), (b.lat_max, b.lon_max)]
            into.bbox = BBox(
                min(p[0] for p in points),
                min(p[1] for p in points),
                max(p[0] for p in points),
                max(p[1] for p in points),
            )
            into.lat, into.lon = into.bbox.centre
            into.radius_m = max(into.radius_m, other.radius_m, into.bbox.half_diagonal_m() + EXTENT_MARGIN_M)
    into.anchors += other.anchors


# -- building the register from an official address export -------------------------------------------


@dataclass(frozen=True)
class AddressPoint:
    street: str
    house_number: str
    postcode: str
    deelgemeente: str
    lat: float
    lon: float


def build(points: Sequence[AddressPoint], source: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Streets (centroid, extent) and address points from one row per address."""
    grouped: dict[tuple[str, str], list[AddressPoint]] = defaultdict(list)
    for p in points:
        grouped[(p.street, p.postcode)].append(p)
    streets, anchors = [], []
    for (name, postcode), rows in sorted(grouped.items()):
        lats, lons = [r.lat for r in rows], [r.lon for r in rows]
        box = BBox(min(lats), min(lons), max(lats), max(lons))
        radius = max(box.half_diagonal_m() + EXTENT_MARGIN_M, default_radius(name, "street") / 2)
        streets.append(
            {
                "name": name,
                "postcode": postcode,
                "deelgemeente": rows[0].deelgemeente,
                "kind": "street",
                "lat": f"{sum(lats) / len(lats):.6f}",
                "lon": f"{sum(lons) / len(lons):.6f}",
                "lat_min": f"{box.lat_min:.6f}",
                "lon_min": f"{box.lon_min:.6f}",
                "lat_max": f"{box.lat_max:.6f}",
                "lon_max": f"{box.lon_max:.6f}",
                "radius_m": f"{radius:.0f}",
                "aliases": "",
                "source": source,
            }
        )
        for r in rows:
            if r.house_number:
                anchors.append(
                    {
                        "street": name,
                        "postcode": postcode,
                        "house_number": r.house_number,
                        "lat": f"{r.lat:.6f}",
                        "lon": f"{r.lon:.6f}",
                        "source": source,
                    }
                )
    return streets, anchors


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gateway.dedupe.register build EXPORT.csv --streets config/streets.csv --points ...`"""
    parser = argparse.ArgumentParser(prog="python -m gateway.dedupe.register")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="streets.csv and addresses.csv from an address-points export")
    b.add_argument("export", type=Path, help="CSV, one row per address, WGS84 coordinates")
    b.add_argument("--streets", type=Path, required=True, help="street register to write")
    b.add_argument("--points", type=Path, required=True, help="address points to write")
    b.add_argument("--street-column", default="straatnaam")
    b.add_argument("--number-column", default="huisnummer")
    b.add_argument("--postcode-column", default="postcode")
    b.add_argument("--deelgemeente-column", default="deelgemeente", help="may be absent from the export")
    b.add_argument("--lat-column", default="lat")
    b.add_argument("--lon-column", default="lon")
    b.add_argument("--delimiter", default=",")
    b.add_argument("--source", default="official register export")
    b.add_argument("--keep", type=Path, help="an existing streets.csv whose landmarks to keep")
    args = parser.parse_args(argv)
    points = []
    with args.export.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=args.delimiter)
        for column in (args.street_column, args.number_column, args.lat_column, args.lon_column):
            if column not in (reader.fieldnames or ()):
                print(f"{args.export}: no column {column!r} (columns: {reader.fieldnames})", file=sys.stderr)
                return 2
        skipped = 0
        for row in reader:
            try:
                lat, lon = float(row[args.lat_column]), float(row[args.lon_column])
            except (TypeError, ValueError):
                skipped += 1
                continue
            street = (row.get(args.street_column) or "").strip()
            if not street:
                skipped += 1
                continue
            points.append(
                AddressPoint(
                    street=street,
                    house_number=(row.get(args.number_column) or "").strip(),
                    postcode=(row.get(args.postcode_column) or "").strip(),
                    deelgemeente=(row.get(args.deelgemeente_column) or "").strip(),
                    lat=lat,
                    lon=lon,
                )
            )
    streets, anchors = build(points, args.source)
    if args.keep is not None:
        with args.keep.open(encoding="utf-8-sig", newline="") as handle:
            streets += [r for r in csv.DictReader(handle) if r.get("kind") == "landmark"]
    write_csv(args.streets, STREET_COLUMNS, streets)
    write_csv(args.points, POINT_COLUMNS, anchors)
    print(f"{len(streets)} streets, {len(anchors)} address points ({skipped} rows without position skipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
