"""The stream behind `gateway dedupe` (PRODUCT.md).

A chronological stream of JSON lines on stdin, one JSON line out per line in, in order:
`id`, `duplicate_of` (an earlier id or null), `suggestions` (earlier ids, the first report
of each problem, that the desk should look at: below the threshold but plausible, at most
`max_suggestions`, empty when linked), `score` (of the best candidate, linked or
not; null without candidates), `reason`, plus `dienst`, `location` and, when a line raises
one, `hotspot`. It starts from an empty in-memory index and touches no store and no Redis.

Input fields: `id`, `text`, `received_at` (ISO 8601; without offset: the gateway's time
zone) are required; `dienst` (else routed by the rules of `diensten_file`), `subject`, `lat`,
`lon`, `street`, `house_number`, `postcode`, `address`, `channel` are optional. A line that
cannot be read gets `{"id": ..., "error": ...}` and the stream goes on.

A status line `{"event": "closed", "id": <an earlier id>}` says the case system closed that
problem (Behandeld, Beantwoord, Niet behandeld) at this point of the stream; `"reopened"`
opens it again. As in the worker, where a duplicate takes its master's status, it concerns the
whole problem (the id's master and all its reports): a closed problem is no candidate any more,
so a later report of the same spot is a new problem. Its place in the stream is its moment
(other fields, such as an `at` for the reader, are ignored). It is answered with `{"id": ...,
"event": ..., "problem": <master id>}`, or an `error` for an unknown event or id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from gateway.classify.rules import normalize_text
from gateway.dedupe import kinds
from gateway.dedupe.finder import Deduper
from gateway.dedupe.memory import MemoryIndex
from gateway.dedupe.ownwords import own_words
from gateway.dedupe.records import Outcome
from gateway.melding import DIENST_CODES, Channel, Location, Melding, Reporter, Stage, Status


class Router(Protocol):
    def route(self, text: str, subject: str | None = None) -> Any: ...


class LineError(ValueError):
    pass


STATUS_EVENTS = ("closed", "reopened")


def _text(obj: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise LineError(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LineError(f"{key} must be a string")
    return str(value)


def _coordinate(obj: dict[str, Any], key: str, limit: float) -> float | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LineError(f"{key} must be a number") from None
    if isinstance(value, bool) or not -limit <= number <= limit:
        raise LineError(f"{key} out of range")
    return number


def _moment(value: Any, tz: ZoneInfo) -> datetime:
    if value is None or value == "":
        raise LineError("received_at is required")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz)  # unix seconds
    if not isinstance(value, str):
        raise LineError("received_at must be an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LineError(f"received_at {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def parse_line(obj: Any, tz: ZoneInfo) -> Melding:
    """A stream line as the Melding the worker would see (before routing)."""
    if not isinstance(obj, dict):
        raise LineError("a line must be a JSON object")
    melding_id = _text(obj, "id", required=True)
    assert melding_id is not None
    text = obj.get("text")
    if not isinstance(text, str):
        raise LineError("text is required (a string)")
    received_at = _moment(obj.get("received_at"), tz)
    # The API's nested {"location": {...}} is read too; flat fields win.
    nested = obj.get("location") if isinstance(obj.get("location"), dict) else {}
    obj = {**nested, **{k: v for k, v in obj.items() if k != "location"}}
    for alias, key in (("latitude", "lat"), ("longitude", "lon"), ("lng", "lon")):
        if obj.get(key) is None and obj.get(alias) is not None:
            obj[key] = obj[alias]
    dienst = _text(obj, "dienst")
    if dienst is not None and dienst not in DIENST_CODES:
        raise LineError(f"dienst {dienst!r} is not one of {', '.join(DIENST_CODES)}")
    lat, lon = _coordinate(obj, "lat", 90), _coordinate(obj, "lon", 180)
    if (lat is None) != (lon is None):
        raise LineError("give both lat and lon, or neither")
    channel_raw = (_text(obj, "channel") or "web").lower()
    channel = Channel(channel_raw) if channel_raw in {c.value for c in Channel} else Channel.WEB
    return Melding(
        id=melding_id,
        reference=melding_id,
        channel=channel,
        received_at=received_at,
        reporter=Reporter(),
        subject=_text(obj, "subject"),
        text=text,
        location=Location(
            address=_text(obj, "address"),
            street=_text(obj, "street"),
            house_number=_text(obj, "house_number"),
            postcode=_text(obj, "postcode"),
            lat=lat,
            lon=lon,
        ),
        dienst=dienst,
        status=Status.ONTVANGEN,
        stage=Stage.RECEIVED,
        tracking_token="",
    )


def provisional_dienst(routing: Any, melding: Melding) -> tuple[str | None, str]:
    """The router's dienst; where it is undecided, a guess for comparison only (never delivered).

    The worker sends an undecided melding to triage and does not deduplicate it; a stream has
    no desk, so the problem kinds (gateway.dedupe.kinds) and the router's first alternative
    decide which dienst's open problems it is compared with, when they agree or one is clear.
    """
    if routing.dienst:
        return routing.dienst, "router"
    text = own_words(melding.subject, melding.text).joined  # not a quoted mail's problem
    counted = kinds.problem_diensten(normalize_text(text[:4000]))
    hinted = [d for d, _ in counted]
    alternatives = list(routing.alternatives or ())
    first, share = alternatives[0] if alternatives else (None, 0.0)
    if len(counted) == 1 or (len(counted) > 1 and counted[0][1] > counted[1][1]):
        return hinted[0], "kinds (router undecided)"  # one dienst, or clearly the most kinds
    if first in hinted:
        return first, "router alternative + kinds"
    if not hinted and first not in (None, "info") and share >= 0.6:
        return first, "router alternative"
    return None, "undecided"


def run_stream(
    lines: Iterable[str],
    deduper: Deduper,
    router: Callable[[], Router],
    tz: ZoneInfo,
    explain: bool = False,
) -> Iterator[dict[str, Any]]:
    """One output object per input line, in order (blank lines included: they are errors)."""
    index = MemoryIndex()
    seen: dict[str, Any] = {}  # id as a string -> the id as given (a number stays a number)
    masters: dict[str, str] = {}  # id -> the first report of its problem (for status lines)
    routing: Router | None = None
    for raw in lines:
        raw = raw.rstrip("\r\n")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield {
                "id": None,
                "duplicate_of": None,
                "suggestions": [],
                "score": None,
                "error": f"not JSON: {exc}",
            }
            continue
        if isinstance(obj, dict) and "event" in obj:
            yield _status_event(obj, seen, masters, index)
            continue
        try:
            melding = parse_line(obj, tz)
            if melding.id in seen:
                raise LineError(f"id {melding.id!r} was seen before")
        except LineError as exc:
            line_id = obj.get("id") if isinstance(obj, dict) else None
            yield {"id": line_id, "duplicate_of": None, "suggestions": [], "score": None, "error": str(exc)}
            continue
        seen[melding.id] = obj["id"]
        dienst = melding.dienst
        routed_by = "input"
        if dienst is None:
            routing = routing or router()
            dienst, routed_by = provisional_dienst(routing.route(melding.text, melding.subject), melding)
        outcome = deduper.process(index, melding, dienst)
        masters[melding.id] = outcome.match.master_id if outcome.match else melding.id
        result = _result(obj.get("id"), dienst, routed_by, outcome, explain)
        if result["duplicate_of"] is not None:
            result["duplicate_of"] = seen[result["duplicate_of"]]
        result["suggestions"] = [seen[s] for s in result["suggestions"]]
        yield result


def _status_event(
    obj: dict[str, Any], seen: dict[str, Any], masters: dict[str, str], index: MemoryIndex
) -> dict[str, Any]:
    """A status line: close or reopen the problem of an earlier melding."""
    event, line_id = obj.get("event"), obj.get("id")
    out: dict[str, Any] = {"id": line_id, "event": event}
    if event not in STATUS_EVENTS:
        return {**out, "error": f"event must be one of {', '.join(STATUS_EVENTS)}"}
    master = masters.get(str(line_id))
    if line_id is None or master is None:
        return {**out, "error": f"id {line_id!r} is no earlier melding of the stream"}
    if event == "closed":
        index.close(master)
    else:
        index.reopen(master)
    return {**out, "problem": seen[master]}


def _result(
    line_id: Any, dienst: str | None, routed_by: str, outcome: Outcome, explain: bool
) -> dict[str, Any]:
    match = outcome.match
    if match is not None:
        reason = match.reason
    elif dienst is None:
        reason = "dienst undecided (triage): not deduplicated"
    elif outcome.entry is None:
        reason = f"{dienst}: not deduplicated (window 0)"
    elif outcome.place.source == "none":
        reason = f"no location: {outcome.place.detail}"
    elif outcome.best_score is None:
        reason = "no candidate nearby in the window"
    else:
        reason = f"best candidate {outcome.best_score:.2f} below the threshold: {outcome.best_reason}"
    out: dict[str, Any] = {
        "id": line_id,
        "duplicate_of": match.master_id if match else None,
        "suggestions": [s.candidate_id for s in outcome.suggestions],
        "score": match.score if match else outcome.best_score,
        "reason": reason,
        "dienst": dienst,
        "location": {
            k: v
            for k, v in outcome.place.as_dict().items()
            if explain or k in ("source", "street", "house_number", "confidence")
        },
    }
    if outcome.hotspot is not None and outcome.hotspot.created:
        h = outcome.hotspot
        out["hotspot"] = {
            "dienst": h.dienst,
            "count": h.count,
            "radius_m": round(h.radius_m),
            "melding_ids": list(h.melding_ids),
        }
    if explain:
        out["suggestion_scores"] = [s.score for s in outcome.suggestions]
        out["routed_by"] = routed_by
        out["kinds"] = sorted(outcome.kinds)
        out["candidates"] = outcome.candidates
    return out
