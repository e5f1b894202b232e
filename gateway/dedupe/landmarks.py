"""Landmarks people name instead of an address: "near the bridge" on a quay, "at the bottle banks
opposite the bakery in Bissegem", "aan de kerk in Marke".

A landmark's own word is common ("brug", "kerk", "glasbollen"), so it only counts together with
the street or the deelgemeente it belongs to (`config/landmarks.csv`, aliases in Dutch, French and
English). It then narrows a street-level or village-level place to the landmark's position. A house
number says more than a landmark and a map pin more than both: those places are left as they are.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.dedupe.place import Place
from gateway.dedupe.register import StreetRegister, parse_house_number, street_key
from gateway.dedupe.text import fold


class LandmarkError(ValueError):
    """The landmark table is unusable; the message names the file and the row."""


@dataclass(frozen=True)
class Landmark:
    name: str
    street_key: str | None  # the register street it stands on, if any
    deelgemeente: str | None  # folded
    lat: float
    lon: float
    radius_m: float
    pattern: re.Pattern[str]  # its aliases as whole words in folded text


class Landmarks:
    def __init__(self, items: list[Landmark]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def refine(self, place: Place, text: str) -> Place:
        """The place narrowed to the one landmark the text names on its street or in its village."""
        if place.source in ("pin", "none") or place.number_lo is not None or not text:
            return place
        here = [item for item in self.items if self._fits(item, place)]
        if not here:
            return place  # the common case: no landmark on this street or in this village
        folded = " " + re.sub(r"[^a-z0-9]+", " ", fold(text)) + " "
        fits = [item for item in here if item.pattern.search(folded)]
        if len({(i.lat, i.lon) for i in fits}) != 1:
            return place  # none, or two landmarks that could be meant: no guess
        item = fits[0]
        return replace(
            place,
            confidence=max(place.confidence, 0.6),
            lat=item.lat,
            lon=item.lon,
            radius_m=item.radius_m,
            detail=f"{place.detail}; near {item.name}" if place.detail else f"near {item.name}",
        )

    @staticmethod
    def _fits(item: Landmark, place: Place) -> bool:
        if item.street_key is not None and place.street_key is not None:
            return item.street_key == place.street_key
        if place.street_key is None and place.deelgemeente is not None:
            return item.deelgemeente == fold(place.deelgemeente)
        return False

    @classmethod
    def from_file(cls, path: Path | None, register: StreetRegister) -> Landmarks:
        if path is None:
            return cls([])
        try:
            with path.open(encoding="utf-8", newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError as exc:
            raise LandmarkError(f"{path}: {exc.strerror or exc}") from None
        return cls([_landmark(row, register, f"{path}:{n}") for n, row in enumerate(rows, start=2)])


def _landmark(row: dict[str, str], register: StreetRegister, where: str) -> Landmark:
    name = (row.get("name") or "").strip()
    if not name:
        raise LandmarkError(f"{where}: name is empty")
    key = None
    street_name = (row.get("street") or "").strip()
    if street_name:
        match = register.lookup(street_key(street_name))
        if match is None or len(match.keys) != 1:
            raise LandmarkError(f"{where}: street {street_name!r} is not one street of the register")
        key = next(iter(match.keys))
    position = _position(row, register, key, where)
    aliases = [
        re.escape(" ".join(fold(a).split()))
        for column in ("aliases_nl", "aliases_fr", "aliases_en")
        for a in (row.get(column) or "").split("|")
        if a.strip()
    ]
    if not aliases:
        raise LandmarkError(f"{where}: {name} has no aliases")
    try:
        radius = float(row.get("radius_m") or 60)
    except ValueError:
        raise LandmarkError(f"{where}: radius_m must be a number") from None
    deelgemeente = fold((row.get("deelgemeente") or "").strip()) or None
    return Landmark(
        name=name,
        street_key=key,
        deelgemeente=deelgemeente,
        lat=position[0],
        lon=position[1],
        radius_m=radius,
        pattern=re.compile(r" (?:" + "|".join(sorted(aliases, key=len, reverse=True)) + r") "),
    )


def _position(
    row: dict[str, str], register: StreetRegister, street_key: str | None, where: str
) -> tuple[float, float]:
    """lat/lon as given, or the register's address point of the house number on its street."""
    lat, lon = (row.get("lat") or "").strip(), (row.get("lon") or "").strip()
    if lat and lon:
        try:
            return float(lat), float(lon)
        except ValueError:
            raise LandmarkError(f"{where}: lat and lon must be numbers") from None
    numbers = parse_house_number(row.get("house_number") or "")
    if street_key is not None and numbers is not None:
        spot = register.streets[street_key].position(*numbers)
        if spot is not None:
            return spot[0], spot[1]
    raise LandmarkError(f"{where}: give lat and lon, or a street and a house number the register places")
