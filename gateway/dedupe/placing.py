"""How likely a melding's place and an indexed report's are one spot (gateway.dedupe.finder's
place score): map pins by distance, house numbers on one street, a pin against a named street."""

from __future__ import annotations

from gateway.dedupe.closeness import PlaceFit, closeness, street_level
from gateway.dedupe.geo import distance_m
from gateway.dedupe.place import Place
from gateway.dedupe.records import Entry
from gateway.dedupe.register import Street, StreetRegister

PRECISE_M = 80.0  # a location this certain is a point; beyond it, "somewhere on this street"
NUMBERED_M = 150.0  # a house number placed within this is compared with a pin by distance
NUMBER_M = 10.0  # the uncertainty of a house number's place along its street, against another's
TOO_FAR = PlaceFit(0.0, "too far apart")


def place_fit(
    register: StreetRegister, metres_per_number: float, p: Place, e: Entry, reach: float
) -> PlaceFit:
    """How likely two locations are one spot, for a problem of a dienst that reaches `reach` metres
    (`metres_per_number`: between consecutive house numbers). A fit of 0 says only "not one spot":
    its reason may be TOO_FAR's whatever was compared."""
    options: list[PlaceFit] = []
    # at_a_spot, written out: this runs for every candidate pair
    p_precise = p.lat is not None and p.lon is not None and (p.radius_m or 0) <= PRECISE_M
    e_precise = e.lat is not None and e.lon is not None and (e.radius_m or 0) <= PRECISE_M
    same_street = bool(p.street_key) and p.street_key == e.street_key
    if same_street:
        street = register.streets.get(p.street_key or "")
        name = street.name if street else p.street or p.street_key
        if p.number is not None and e.number is not None:
            gap = abs(p.number - e.number) * metres_per_number
            numbers = f"same street {name}, nrs {_n(p.number)}/{_n(e.number)}"
            s = closeness(gap, reach, NUMBER_M, NUMBER_M)
            one_side = int(p.number) % 2 == int(e.number) % 2
            if s <= 0 and one_side:
                # On one side of a street the numbers decide; across it, odd and even need
                # not run level, and the address points (if any) say more.
                return PlaceFit(0.0, f"{numbers}: too far apart")
            if one_side or not (p_precise and e_precise):
                options.append(PlaceFit(s, numbers))
        else:
            options.append(
                PlaceFit(street_level(street), f"same street {name}", street_level=True, along=street)
            )
    if p_precise and e_precise:
        assert p.lat is not None and p.lon is not None and e.lat is not None and e.lon is not None
        d = distance_m(p.lat, p.lon, e.lat, e.lon)
        closer = closeness(d, reach, p.radius_m or 0.0, e.radius_m or 0.0)
        if closer > 0.0:  # a fit of 0 never wins (the finder drops it): most pairs end here, unworded
            options.append(PlaceFit(closer, f"{d:.0f} m apart", doubt=_rough(d, reach, p, e)))
    elif (
        (p_precise or e_precise)
        and not same_street
        and (
            not (p.street_key and e.street_key)
            or _landmark(register, e.street_key if p_precise else p.street_key)
        )
    ):
        # A map pin against "somewhere on street X": does the pin lie on X? (Two named
        # streets that differ are two places, whatever their points; a landmark is no street.)
        point = (p.lat, p.lon) if p_precise else (e.lat, e.lon)
        street = register.streets.get((e.street_key if p_precise else p.street_key) or "")
        numbered = _numbered_point(e if p_precise else p)
        if numbered is not None and point[0] is not None and point[1] is not None:
            # "Street X nr 70" placed by the register's address points says more than "on X":
            # the pin is judged by its distance to that house number.
            lat, lon, radius, number = numbered
            d = distance_m(point[0], point[1], lat, lon)
            pin_radius = (p.radius_m if p_precise else e.radius_m) or 0.0
            name = street.name if street else "the street"
            why = f"map pin {d:.0f} m from {name} {number}"
            rough = _rough(d, reach, e if p_precise else p)
            options.append(PlaceFit(closeness(d, reach, pin_radius, radius), why, doubt=rough))
        elif street is not None and point[0] is not None and point[1] is not None:
            sure = _sure_on(register, street, point[0], point[1])
            if sure > 0:
                on_it = f"map pin on {street.name}"
                options.append(PlaceFit(street_level(street) * sure, on_it, street_level=True, along=street))
    elif not (p_precise or e_precise) and not same_street and p.street_key and e.street_key:
        on_it = _landmark_on_street(register, p.street_key, e.street_key)
        if on_it is not None:
            options.append(on_it)
    return max(options, default=TOO_FAR)


def _landmark(register: StreetRegister, key: str | None) -> Street | None:
    """The register's landmark with a position under this key (the belfry, a car park), if any."""
    found = register.streets.get(key or "")
    return found if found is not None and found.kind == "landmark" and found.has_position else None


def _landmark_on_street(register: StreetRegister, a: str, b: str) -> PlaceFit | None:
    """ "Aan het belfort" and "on the Grote Markt": a landmark that stands on the other report's
    street meets it there ("somewhere on this street", the vaguer of the two)."""
    mark, street = _landmark(register, a), register.streets.get(b)
    if mark is None:
        mark, street = _landmark(register, b), register.streets.get(a)
    if mark is None or street is None or street.kind != "street" or mark.lat is None or mark.lon is None:
        return None
    # Only streets are its rivals: the landmark's own extent claims its point too.
    sure = _sure_on(register, street, mark.lat, mark.lon, rivals_are_streets=True)
    if sure <= 0:
        return None
    level = min(street_level(mark), street_level(street))
    return PlaceFit(level * sure, f"{mark.name} on {street.name}", street_level=True, along=street)


def _sure_on(
    register: StreetRegister, street: Street, lat: float, lon: float, *, rivals_are_streets: bool = False
) -> float:
    """How surely a point (a pin, a landmark) lies on `street`: by its extent, less so where another
    entry of the register, known better there, claims the point more (then it lies on that one)."""
    sure = street.on_street(lat, lon)
    rival = max(
        (
            s
            for other, s in register.near(lat, lon)
            if other.key != street.key and (other.kind == "street" or not rivals_are_streets)
        ),
        default=0.0,
    )
    return sure * 0.4 if rival > sure else sure


def _rough(d: float, reach: float, *sides: Place | Entry) -> str:
    """Why two points `d` metres apart, beyond the dienst's reach, meet only through a house number
    placed roughly (a number in the register's range 51-93, whose point may lie 100 m from it):
    the numbers might be one spot, or two (a second lamp 60 m on). "" when not so."""
    if d <= reach:
        return ""
    for side in sides:
        if side.number is not None and (side.radius_m or 0.0) > reach:
            return f"nr {_n(side.number)} placed only roughly"
    return ""


def at_a_spot(where: Place | Entry) -> bool:
    """Placed this certainly, a location is a point; beyond PRECISE_M it is "somewhere on this street"."""
    return where.has_point and (where.radius_m or 0) <= PRECISE_M


def pinned(p: Place, e: Entry) -> bool:
    """Both placed at a spot (map pins, or house numbers on one street), not just on a street."""
    if p.number is not None and e.number is not None and p.street_key and p.street_key == e.street_key:
        return True
    p_point = p.lat is not None and (p.radius_m or 0) <= PRECISE_M
    return p_point and e.has_point and (e.radius_m or 0) <= PRECISE_M


def _numbered_point(side: Place | Entry) -> tuple[float, float, float, str] | None:
    """The position of a house number on a named street (register address points), if known."""
    if side.number is None or side.lat is None or side.lon is None:
        return None
    radius = side.radius_m or 0.0
    if radius > NUMBERED_M:
        return None  # a number the address points place only roughly
    return side.lat, side.lon, radius, f"nr {_n(side.number)}"


def _n(number: float) -> str:
    return str(int(number)) if number == int(number) else f"{number:g}"
