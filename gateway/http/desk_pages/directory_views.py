"""Who is calling: the reporter directory on the desk's pages (README "Desk workplace").

A melding's page shows who its reporter is and where they live, looked up in the directory by the
melding's e-mail, phone (a phone melding's number is the caller-ID of the call) and national
register number; each lookup is recorded under the operator's name (gateway.directory.identify).
Admins read that record at /desk/directory/log; an operator gets 403.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from gateway.appkeys import STORE
from gateway.directory import Directory, Found, Reporter, StoreDirectory, identify
from gateway.handling import error_body
from gateway.http.desk_pages.auth import OPERATOR, csrf_token
from gateway.http.desk_pages.paging import paging
from gateway.melding import Channel, Melding
from gateway.national_number import InvalidNationalNumber, NationalRegisterNumber
from gateway.store import directory as store_directory
from gateway.store.operators import Role

# Another directory (the population register) is plugged in by setting app[DIRECTORY].
DIRECTORY = web.AppKey("directory", Directory)
LOG_PAGE = 100
KINDS = {
    "email": "e-mail",
    "phone": "telefoon",
    "caller_id": "nummerherkenning",
    "national_number": "rijksregisternummer",
    "name": "naam",
}


def directory_of(request: web.Request) -> Directory:
    plugged = request.config_dict.get(DIRECTORY)
    return plugged if plugged is not None else StoreDirectory(request.config_dict[STORE])


def reporter(melding: Melding, national_number: str | None) -> Reporter:
    """What a melding says of its reporter: e-mail, phone, and the national register number a portal
    intake linked (read with the melding's page, for the lookup only, never shown)."""
    try:
        nrn = NationalRegisterNumber(national_number) if national_number else None
    except InvalidNationalNumber:
        nrn = None
    return Reporter(
        reference=melding.reference,
        email=melding.reporter.email,
        phone=melding.reporter.phone,
        national_number=nrn,
        caller=melding.channel == Channel.PHONE,
    )


async def who(request: web.Request, melding: Melding, national_number: str | None) -> dict[str, Any]:
    """For melding.html's directory part: the people found, and whether there was anything to look up."""
    known = reporter(melding, national_number)
    searchable = bool(known.email or known.phone or known.national_number)
    found: list[Found] = []
    if searchable:
        operator = request[OPERATOR].name
        found = (await identify(directory_of(request), request.config_dict[STORE], operator, [known]))[
            melding.reference
        ]
    return {"found": found, "searchable": searchable, "caller": known.caller, "kinds": KINDS}


async def log_page(request: web.Request) -> web.Response:
    """Who looked up whom, when: admins only."""
    if request[OPERATOR].role != Role.ADMIN:
        return error_body(403, "admin_only", "the directory's access log is for admins")
    at = paging(request, LOG_PAGE)
    operator = request.query.get("operator") or None
    items, total = await request.config_dict[STORE].read(
        store_directory.lookups, at.offset, at.size, operator
    )
    values = {"items": items, "kinds": KINDS, "filter": operator, **at.context(total)}
    return aiohttp_jinja2.render_template("directory_log.html", request, await page_context(request, values))


async def page_context(request: web.Request, values: dict[str, Any]) -> dict[str, Any]:
    """The operator and the CSRF token of the logout form, as on every desk page."""
    session = await get_session(request)
    return {"operator": request[OPERATOR], "csrf": csrf_token(session), "flash": None, **values}
