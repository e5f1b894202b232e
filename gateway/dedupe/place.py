"""A melding's location as gateway.dedupe.locate found it: where, how sure and why (stored as
`located`; the finder compares two of them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A melding's location as found, with how sure and why."""

    source: str  # pin | address | text | none
    confidence: float  # 0..1
    street: str | None = None  # the register's name, or as written when not in the register
    street_key: str | None = None  # compact normalized name: equal for equal streets
    registered: bool = False
    postcode: str | None = None
    deelgemeente: str | None = None
    house_number: str | None = None  # as found: "12", "5-9", "14A"
    number_lo: int | None = None
    number_hi: int | None = None
    landmark: bool = False
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None  # uncertainty of (lat, lon)
    detail: str = ""  # what matched, or why nothing did
    corner_key: str | None = None  # "aan het kruispunt met de X": the crossing street's key

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def number(self) -> float | None:
        if self.number_lo is None:
            return None
        return (self.number_lo + (self.number_hi or self.number_lo)) / 2

    def as_dict(self) -> dict[str, object]:
        out = {
            "source": self.source,
            "confidence": round(self.confidence, 2),
            "street": self.street,
            "house_number": self.house_number,
            "postcode": self.postcode,
            "deelgemeente": self.deelgemeente,
            "landmark": self.landmark or None,
            "lat": None if self.lat is None else round(self.lat, 6),
            "lon": None if self.lon is None else round(self.lon, 6),
            "radius_m": None if self.radius_m is None else round(self.radius_m),
            "detail": self.detail,
        }
        return {k: v for k, v in out.items() if v is not None}


NOWHERE = Place(source="none", confidence=0.0, detail="no location given")
