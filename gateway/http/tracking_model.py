"""What a tracking page shows, as plain data: the same for the HTML page and its JSON twin.

Only what the citizen may see of a melding: its status steps, dienst, dates, the notes meant for the
reporter, the place of the problem and the photo links. Never the reporter's name, address, e-mail
or phone, never the melding's text (a reporter writes names and numbers in it), never the gateway's
own bookkeeping notes, and nothing of a duplicate's other reporters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway import texts
from gateway.melding import Attachment, Melding, Status, StatusChange, is_open

# The parcel line every melding follows; the side states join it where they happen.
MAIN_LINE: tuple[Status, ...] = (
    Status.ONTVANGEN,
    Status.GEREGISTREERD,
    Status.IN_BEHANDELING,
    Status.GEPLAND,
    Status.BEHANDELD,
)

# Only files a browser can show as a photo; thumbnails are made from these alone.
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"})


@dataclass(frozen=True)
class Step:
    status: Status
    state: str  # done | current | todo
    at: datetime | None  # when the melding first reached it; None for a step still to come


def steps(history: list[StatusChange], current: Status) -> list[Step]:
    """The main line with the side states where they happened and the current step last reached."""
    reached: list[tuple[Status, datetime]] = []
    for change in history:
        if change.status in MAIN_LINE:
            _reach_main(reached, change)
        elif not reached or reached[-1][0] != change.status:
            reached.append((change.status, change.at))
    if not reached or reached[-1][0] != current:
        reached.append((current, history[-1].at if history else datetime.min))
    out = [Step(s, "done", at) for s, at in reached[:-1]] + [Step(current, "current", reached[-1][1])]
    if is_open(current):
        last_main = max((MAIN_LINE.index(s) for s, _ in reached if s in MAIN_LINE), default=0)
        out += [Step(s, "todo", None) for s in MAIN_LINE[last_main + 1 :]]
    return out


def _reach_main(reached: list[tuple[Status, datetime]], change: StatusChange) -> None:
    index = MAIN_LINE.index(change.status)
    for i, (status, _) in enumerate(reached):
        if status == change.status:
            del reached[i:]  # reopened: back to this step, what followed is undone
            break
    done = {s for s, _ in reached}
    last = max((MAIN_LINE.index(s) for s in done if s in MAIN_LINE), default=-1)
    # A step skipped on the way (Ontvangen straight to Gepland) was passed at the same moment.
    reached.extend((s, change.at) for s in MAIN_LINE[last + 1 : index] if s not in done)
    reached.append((change.status, change.at))


def photos(melding: Melding) -> list[Attachment]:
    """The reporter's own stored photos, in the order sent: `/t/{token}/photos/{n}` is n-th (1-based)."""
    return [a for a in melding.attachments if a.state == "stored" and a.content_type in PHOTO_TYPES]


@dataclass(frozen=True)
class Place:
    street: str | None
    postcode: str | None
    area: str | None  # the deelgemeente
    lat: float | None
    lon: float | None


def place(melding: Melding) -> Place | None:
    """Where the problem is: the street (never the house number: often the reporter's home)."""
    found = melding.located or {}
    if found.get("source") not in (None, "none"):
        return Place(found.get("street"), found.get("postcode"), found.get("deelgemeente"),
                     found.get("lat"), found.get("lon"))  # fmt: skip
    loc = melding.location
    if loc.street is None and loc.lat is None:
        return None
    return Place(loc.street, loc.postcode, None, loc.lat, loc.lon)


def planned_date(history: list[StatusChange]) -> date | None:
    """The newest planned date the case system gave (it stays until another replaces it)."""
    return next((c.planned_date for c in reversed(history) if c.planned_date), None)


def public_json(melding: Melding, lang: str, photo_url: str) -> dict[str, Any]:
    """The tracking JSON (`/t/{token}.json`, shape in README "Tracking page"): codes and ISO dates,
    labels in `lang`. `photo_url` is the photos' URL prefix (`/t/<token>/photos/`)."""
    history = melding.status_history
    where = place(melding)
    planned = planned_date(history)
    return {
        "reference": melding.reference,
        "language": lang,
        "status": {"code": melding.status.value, "label": texts.status_label(melding.status, lang)},
        "steps": [
            {
                "code": s.status.value,
                "label": texts.status_label(s.status, lang),
                "state": s.state,
                "at": _iso(s.at) if s.at else None,
            }
            for s in steps(history, melding.status)
        ],
        "dienst": _dienst(melding.dienst, lang),
        "received_at": _iso(melding.received_at),
        "updated_at": _iso(history[-1].at if history else melding.received_at),
        "planned_date": planned.isoformat() if planned else None,
        "external_partner": next((c.external_partner for c in reversed(history) if c.external_partner), None),
        "notes": [
            {"at": _iso(c.at), "status": c.status.value, "text": c.citizen_note}
            for c in history
            if c.citizen_note
        ],
        "place": None if where is None else vars(where),
        "photos": [{"url": f"{photo_url}{n}"} for n in range(1, len(photos(melding)) + 1)],
    }


def _iso(moment: datetime) -> str:
    """As the rest of the API writes a moment: 2026-12-03T10:15:00Z."""
    return moment.isoformat().replace("+00:00", "Z")


def _dienst(code: str | None, lang: str) -> dict[str, str] | None:
    if not code:
        return None
    return {"code": code, "name": texts.dienst_name(code, lang)}


def local(moment: str | None, tz: ZoneInfo, with_time: bool = True) -> str | None:
    """An ISO moment of the JSON as the page shows it: 03/12/2026 14:05 in the city's time zone."""
    if moment is None:
        return None
    parsed = datetime.fromisoformat(moment)
    if not with_time:
        return parsed.strftime("%d/%m/%Y")
    return parsed.astimezone(tz).strftime("%d/%m/%Y %H:%M")
