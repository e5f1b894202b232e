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
from gateway.store import desk_actions, desk_melding, meldingen
from gateway.store.directory import melding_national_number
from gateway.store.dossier import Dossier, of_melding


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
class PageRead:
    """Everything the page reads from the store, in one read transaction: each transaction and
    each statement costs the page more CPU than the rows it reads (bench/README.md "desk")."""

    melding: Melding
    dossier: Dossier
    actions: list[desk_actions.DeskAction]
    others: list[desk_melding.Other]
    national_number: str | None  # for the directory lookup only, never shown


def read_page(conn: Connection, key: str) -> PageRead | None:
    """The melding by id or reference (as `views.melding_of`), and what its page shows beside it."""
    melding = meldingen.by_id_or_reference(conn, key)
    if melding is None:
        return None
    reporter = melding.reporter
    return PageRead(
        melding=melding,
        dossier=of_melding(conn, melding),
        actions=desk_actions.of(conn, melding.id),
        others=desk_melding.others_of_reporter(conn, melding.id, reporter.email, reporter.phone),
        national_number=melding_national_number(conn, melding.id),
    )


def _events(read: PageRead) -> list[Event]:
    events = [
        Event(h.change.at, h.change.status.value, h.change.source, h.change.note)
        for h in read.dossier.history
    ]
    for a in read.actions:
        note = " ".join(p for p in (_ACTIONS.get(a.action, a.action), a.note) if p)
        events.append(Event(a.at, "", a.source, note))
    return sorted(events, key=lambda e: e.at)


async def page_read(request: web.Request) -> PageRead:
    found = await request.config_dict[STORE].read(read_page, request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text="no melding with this id")
    return found


def details(request: web.Request, read: PageRead) -> dict[str, Any]:
    melding = read.melding
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
