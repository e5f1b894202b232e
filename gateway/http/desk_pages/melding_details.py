"""What the desk's melding page shows beside the melding itself (README "Desk workplace", A
melding's page): the dossier's one read of everything (gateway/store/dossier.py: history with the
notifications and SMS of each change, inbound messages, deliveries with their attempts, duplicates)
with the desk's own actions, the photos (thumbnails of the tracking page's route), the place on the
tracking page's street map (no tile server), the statuses the transition table allows now, and the
reporter's other meldingen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from gateway.appkeys import SETTINGS, STORE
from gateway.http.tracking_map import street_map
from gateway.http.tracking_model import photos, place
from gateway.melding import DIENST_CODES, TRANSITIONS, Melding, Status
from gateway.store import desk_actions, desk_melding
from gateway.store.dossier import Dossier, gather


@dataclass(frozen=True)
class Event:
    """One line of the page's history: a status change or a desk action, in time order."""

    at: datetime
    what: str
    source: str
    note: str | None


_ACTIONS = {
    desk_actions.CONFIRMED: "Duplicaat bevestigd van",
    desk_actions.REJECTED: "Duplicaatvoorstel afgewezen:",
    desk_actions.SPLIT: "Losgekoppeld van",
    desk_actions.RESENT: "Levering opnieuw verstuurd:",
    desk_actions.REROUTED: "Andere dienst:",
}


def place_of(melding: Melding) -> str:
    """The place in words: as located (street, postcode, deelgemeente), or as given."""
    found, loc = melding.located or {}, melding.location
    if found.get("source") not in (None, "none"):
        words = [
            found.get("street"),
            found.get("house_number"),
            found.get("postcode"),
            found.get("deelgemeente"),
        ]
    else:
        words = [loc.address, loc.street, loc.house_number, loc.postcode]
    said = " ".join(str(w) for w in words if w)
    lat, lon = found.get("lat", loc.lat), found.get("lon", loc.lon)
    if not said and lat is not None and lon is not None:
        return f"kaartpunt {lat:.5f}, {lon:.5f}"  # a pin without an address
    return said or "onbekend"


@dataclass(frozen=True)
class _Read:
    dossier: Dossier
    actions: list[desk_actions.DeskAction]
    others: list[desk_melding.Other]


def _read(conn: Connection, melding: Melding) -> _Read | None:
    dossier = gather(conn, melding.id)
    if dossier is None:
        return None
    reporter = melding.reporter
    others = desk_melding.others_of_reporter(conn, melding.id, reporter.email, reporter.phone)
    return _Read(dossier, desk_actions.of(conn, melding.id), others)


def _events(read: _Read) -> list[Event]:
    events = [
        Event(h.change.at, h.change.status.value, h.change.source, h.change.note)
        for h in read.dossier.history
    ]
    for a in read.actions:
        note = " ".join(p for p in (_ACTIONS.get(a.action, a.action), a.note) if p)
        events.append(Event(a.at, "", a.source, note))
    return sorted(events, key=lambda e: e.at)


async def details(request: web.Request, melding: Melding) -> dict[str, Any]:
    read = await request.config_dict[STORE].read(_read, melding)
    if read is None:
        raise web.HTTPNotFound(text="no melding with this id")
    settings = request.config_dict[SETTINGS]
    where = place(melding)
    small_map = None
    if where is not None and where.lat is not None and where.lon is not None:
        small_map = street_map(settings.street_register_file, settings.dedupe_file, where.lat, where.lon)
    attempts: dict[int, list[Any]] = {}
    for attempt in read.dossier.attempts:
        if attempt.delivery_id is not None:
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return {
        "d": read.dossier,
        "events": _events(read),
        "others": read.others,
        "pics": photos(melding),
        "files": [a for a in melding.attachments if a not in photos(melding)],
        "place": place_of(melding),
        "map": small_map,
        "attempts": attempts,
        "allowed": [s for s in Status if s in TRANSITIONS[melding.status] and s != melding.status],
        "diensten": DIENST_CODES,
    }
