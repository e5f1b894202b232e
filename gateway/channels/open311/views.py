"""The handlers of `/open311/v2/` (README "Open311 GeoReport v2"). Every answer is JSON or XML as
the path's extension asks, errors included, in the spec's error format."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from gateway import clock
from gateway.appkeys import INTAKE, METRICS, REDIS, SETTINGS, STORE
from gateway.channels.open311 import services as catalogue
from gateway.channels.open311.formats import FORMATS, Open311Error, answer, error_answer
from gateway.channels.open311.ratelimit import check_rate
from gateway.channels.open311.requests import service_request
from gateway.channels.open311.services import Service
from gateway.channels.open311.submit import field, submission
from gateway.cleantext import has_controls
from gateway.intake import IntakeRejected
from gateway.melding import CLOSED_STATUSES, Status
from gateway.store import StoreUnavailable
from gateway.store import open311 as open311_store

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00Z"  # when this endpoint last changed (the discovery's changeset)
MAX_SPAN = timedelta(days=90)  # the spec's limit on start_date..end_date
MAX_IDS = 100  # service_request_id values in one GET requests
_OPEN_STATUSES = tuple(s.value for s in Status if s not in CLOSED_STATUSES)
_STATUS_FILTER = {"open": _OPEN_STATUSES, "closed": tuple(s.value for s in CLOSED_STATUSES)}

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _refused(request: web.Request, status: int) -> int:
    """Count a refused POST (a new request) as an intake rejection; a read that finds nothing
    (GET of an unknown service or request) is no intake."""
    if request.method == "POST":
        request.app[METRICS].rejected("open311", str(status))
    return status


def spec_errors(handler: Handler) -> Handler:
    """Refusals and outages in the spec's error format, in the format the path asked for."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        fmt = request.match_info.get("fmt", "json")
        try:
            return await handler(request)
        except Open311Error as exc:
            return error_answer(fmt, _refused(request, exc.status), exc.description)
        except IntakeRejected as exc:  # what intake itself refuses (a body too large, ...)
            status = exc.status if exc.status in (403, 404, 413) else 400
            return error_answer(fmt, _refused(request, status), exc.message)
        except web.HTTPException as exc:  # aiohttp's own refusals (a body over the size limit)
            if exc.status < 400:
                raise
            return error_answer(fmt, _refused(request, exc.status), exc.reason)
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc, extra={"path": request.path})
            retry = {"Retry-After": str(request.app[SETTINGS].store_retry_after)}
            return error_answer(
                fmt, 503, "the service is unavailable; nothing was stored, try again later", retry
            )

    return wrapped


def check_jurisdiction(given: str | None, ours: str) -> None:
    if given and given != ours:
        raise Open311Error(404, f"jurisdiction_id {given!r} not found: this endpoint serves {ours!r}")


def _offered(request: web.Request) -> tuple[Service, ...]:
    check_jurisdiction(request.query.get("jurisdiction_id"), request.app[SETTINGS].open311_jurisdiction_id)
    return catalogue.services(request.app[SETTINGS].diensten_file)


def _service(request: web.Request, code: str | None) -> Service:
    if not code:
        raise Open311Error(400, "service_code was not provided")
    found = next((s for s in _offered(request) if s.code == code), None)
    if found is None:
        raise Open311Error(404, f"service_code {code!r} not found (GET services lists them)")
    return found


@spec_errors
async def discovery(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = {
        "changeset": CHANGESET,
        "contact": f"Meldpunt 1777, {settings.email_address}, tel. 1777",
        "key_service": f"An api_key for POST requests: ask {settings.email_address}",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{settings.public_url}{PREFIX}",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return answer(request.match_info["fmt"], "discovery", body)


@spec_errors
async def list_services(request: web.Request) -> web.Response:
    return answer(request.match_info["fmt"], "services", [s.as_dict() for s in _offered(request)])


@spec_errors
async def service_definition(request: web.Request) -> web.Response:
    found = _service(request, request.match_info["code"])
    return answer(
        request.match_info["fmt"], "service_definition", {"service_code": found.code, "attributes": []}
    )


@spec_errors
async def post_request(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "send the request as application/x-www-form-urlencoded")
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError):
        raise Open311Error(400, "the form is not valid UTF-8 application/x-www-form-urlencoded") from None
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    check_jurisdiction(field(form, "jurisdiction_id"), settings.open311_jurisdiction_id)
    found = _service(request, field(form, "service_code"))
    submitted = submission(form, found, settings)
    await check_rate(request.app[REDIS], settings.queue_name, form["api_key"], settings.open311_rate_limit)
    stored = await request.app[INTAKE].submit(submitted.draft)
    # The reference at once (the services are "realtime"), and the token as well for apps that take
    # the token route; both lead to the same request. The spec's optional service_notice and
    # account_id are left out: we have neither.
    body = [{"service_request_id": stored.reference, "token": submitted.token}]
    return answer(request.match_info["fmt"], "service_requests", body)


def _moment(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name) or None
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a w3c date-time such as 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must include its time zone (Z or +01:00)")
    return moment


def _period(request: web.Request) -> tuple[datetime, datetime]:
    start, end = _moment(request, "start_date"), _moment(request, "end_date")
    if start is None:  # the spec's default: the 90 days up to end_date, or up to now
        end = end or clock.now()
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date to end_date may span at most 90 days")
    return start, end


def _list(request: web.Request, name: str) -> list[str]:
    values = [part.strip() for part in (request.query.get(name) or "").split(",") if part.strip()]
    if any(has_controls(v) for v in values):  # no id holds one (PostgreSQL refuses NUL outright)
        raise Open311Error(400, f"{name} holds a control character")
    return values


def _query(request: web.Request, offered: tuple[Service, ...]) -> open311_store.RequestQuery:
    codes = [s.code for s in offered]
    references = _list(request, "service_request_id")
    if len(references) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id values at once")
    if references:  # "This overrides all other arguments."
        return open311_store.RequestQuery(codes, references=references)
    statuses = _list(request, "status")
    if unknown := [s for s in statuses if s not in _STATUS_FILTER]:
        raise Open311Error(400, f"status must be open or closed, got {', '.join(unknown)}")
    wanted = _list(request, "service_code")
    start, end = _period(request)
    return open311_store.RequestQuery(
        [c for c in codes if c in wanted] if wanted else codes,
        received_from=start,
        received_until=end,
        statuses=[code for s in statuses for code in _STATUS_FILTER[s]],
    )


def _rendered(
    request: web.Request, found: list[open311_store.WithRaw], offered: tuple[Service, ...]
) -> web.Response:
    by_code = {s.code: s for s in offered}
    tz = ZoneInfo(request.app[SETTINGS].timezone)
    body = [service_request(m, raw, by_code[m.dienst], tz) for m, raw in found if m.dienst in by_code]
    return answer(request.match_info["fmt"], "service_requests", body)


@spec_errors
async def get_requests(request: web.Request) -> web.Response:
    offered = _offered(request)
    found = await request.app[STORE].read(open311_store.service_requests, _query(request, offered))
    return _rendered(request, found, offered)


@spec_errors
async def get_request(request: web.Request) -> web.Response:
    offered = _offered(request)
    reference = request.match_info["id"]
    found = await request.app[STORE].read(open311_store.by_reference, reference, [s.code for s in offered])
    if found is None:
        raise Open311Error(404, f"service_request_id {reference!r} not found")
    return _rendered(request, [found], offered)


@spec_errors
async def get_token(request: web.Request) -> web.Response:
    _offered(request)  # the jurisdiction check
    token = request.match_info["token"]
    found = await request.app[STORE].read(open311_store.by_token, token)
    if found is None:
        raise Open311Error(404, f"token {token!r} not found")
    body = [{"service_request_id": found[0].reference, "token": token}]
    return answer(request.match_info["fmt"], "service_requests", body)


async def not_found(request: web.Request) -> web.Response:
    """Any path or method the routes above do not serve. The catch-all takes every method, so a
    resource asked with another method (POST services.json) would be a 404 here: it is told 405
    with its Allow, as aiohttp's router says for every other route."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource and resource.canonical.startswith(PREFIX):
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        methods = ",".join(sorted(allowed))
        text = f"{request.method} is not allowed on {request.path}; use {methods}"
        return error_answer(fmt, 405, text, {"Allow": methods})
    return error_answer(fmt, 404, f"{request.method} {request.path}: no such Open311 resource")


def add_routes(router: web.UrlDispatcher) -> None:
    fmt = "{fmt:" + "|".join(FORMATS) + "}"
    # An id ends at the format's dot and never holds a control character (as gateway.http.routes.KEY).
    segment = r"[^/.\x00-\x1f\x7f]+"
    router.add_get(f"{PREFIX}/discovery.{fmt}", discovery)
    router.add_get(f"{PREFIX}/services.{fmt}", list_services)
    router.add_get(f"{PREFIX}/services/{{code:{segment}}}.{fmt}", service_definition)
    router.add_post(f"{PREFIX}/requests.{fmt}", post_request)
    router.add_get(f"{PREFIX}/requests.{fmt}", get_requests)
    router.add_get(f"{PREFIX}/requests/{{id:{segment}}}.{fmt}", get_request)
    router.add_get(f"{PREFIX}/tokens/{{token:{segment}}}.{fmt}", get_token)
    # Any other path, a line feed or other control character included (`.` would stop at a line feed).
    router.add_route("*", f"{PREFIX}/{{tail:[\\s\\S]*}}", not_found)
