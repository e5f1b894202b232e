"""A melding as an Open311 service request (GET requests, GET requests/{id}).

`service_request_id` is our reference; our statuses map to `open` / `closed`, with the status as the
reporter reads it (in the melding's language) and the case system's note of the last change as
`status_notes` (never the desk's question to a reporter, never the gateway's bookkeeping).
GET requests needs no api_key (the spec's choice), so what it shows is public: the reporter's own
words (`description`, `media_url`) only for meldingen an app filed through Open311, whose users
post to a public API; a mail, SMS or call stays private (null). Personal data never leaves here.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from gateway.channels.open311.services import Service
from gateway.melding import Channel, Melding, Status, is_open
from gateway.texts import status_label


def w3c(moment: datetime) -> str:
    """The spec's date-time: ISO 8601 with the zone, in UTC (2026-12-03T09:15:00Z)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _submitted(melding: Melding, raw: str | None) -> dict[str, object]:
    """What the app sent (the raw form, without its api_key), for an Open311 melding only."""
    if melding.channel != Channel.OPEN311 or not raw:
        return {}
    try:
        form = json.loads(raw)
    except ValueError:
        return {}
    return form if isinstance(form, dict) else {}


def status_notes(melding: Melding) -> str:
    label = status_label(melding.status, melding.language)
    last = melding.status_history[-1] if melding.status_history else None
    # GET requests is public (no key, every channel's meldingen): only the case system's notes, which
    # say what was done; the desk's questions to a reporter are for the token's holder alone.
    note = last.citizen_note if last is not None and last.source == "case_system" else None
    return f"{label}: {note}" if note else label


def _expected(melding: Melding, tz: ZoneInfo) -> str | None:
    last = melding.status_history[-1] if melding.status_history else None
    if melding.status != Status.GEPLAND or last is None or last.planned_date is None:
        return None
    planned: date = last.planned_date
    return w3c(datetime.combine(planned, time(0, 0), tzinfo=tz))


def _address(melding: Melding) -> str | None:
    where = melding.location
    if where.address:
        return where.address
    street = " ".join(p for p in (where.street, where.house_number) if p)
    line = ", ".join(p for p in (street, where.postcode) if p)
    return line or (melding.located or {}).get("street")


def service_request(melding: Melding, raw: str | None, service: Service, tz: ZoneInfo) -> dict[str, object]:
    """The spec's request element; every field of the schema, null where we have nothing. `raw`:
    the melding's raw payload (the form an Open311 app sent)."""
    form = _submitted(melding, raw)
    located = melding.located or {}
    updated = melding.status_history[-1].at if melding.status_history else melding.received_at
    return {
        "service_request_id": melding.reference,
        "status": "open" if is_open(melding.status) else "closed",
        "status_notes": status_notes(melding),
        "service_name": service.name,
        "service_code": service.code,
        "description": form.get("description") or None,
        "agency_responsible": service.handled_by,
        "service_notice": None,
        "requested_datetime": w3c(melding.received_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": _expected(melding, tz),
        "address": _address(melding),
        "address_id": None,
        "zipcode": melding.location.postcode or located.get("postcode"),
        "lat": melding.location.lat if melding.location.lat is not None else located.get("lat"),
        "long": melding.location.lon if melding.location.lon is not None else located.get("lon"),
        "media_url": form.get("media_url") or None,
    }
