"""Who may use the desk's pages: sessions, the guard in front of every page, login and logout.

Sessions live in an encrypted cookie (aiohttp-session's EncryptedCookieStorage, Fernet: the browser
holds it but can neither read nor change it), path /desk, HttpOnly, SameSite=Strict, Secure unless
`desk_cookie_secure` is off. The guard (`desk_guard`) checks, for every request of the sub-app:

- every page but the login page needs a logged-in operator who is still enabled (read from the
  store on each request: a disabled operator is out at once) and who was active within
  `desk_idle_minutes`; otherwise the session ends and the browser goes to the login page;
- every POST carries the session's CSRF token in its form field `csrf`: 403 JSON otherwise; the
  login form without it comes back (403) asking to log in again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from gateway import clock, passwords
from gateway.appkeys import REDIS, SETTINGS, STORE
from gateway.config import Settings
from gateway.handling import error_body
from gateway.http.desk_pages import guesses
from gateway.store import operators
from gateway.store.operators import Lockout, Operator

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATOR = web.RequestKey("desk_operator", Operator)
COOKIE = "desk_session"
EXPIRED = "Het formulier was verlopen. Meld je opnieuw aan."
LOCKED = "Te veel mislukte pogingen: dit account is tijdelijk vergrendeld. Probeer het later opnieuw."
PUBLIC = frozenset({"desk_login", "desk_login_post"})  # the routes a visitor without a session sees


def session_storage(settings: Settings) -> EncryptedCookieStorage:
    """The cookie store. The Fernet key is derived from `desk_session_secret` (any long string);
    without one a key is made now, and every session ends when the process restarts."""
    if settings.desk_session_secret:
        digest = hashlib.sha256(settings.desk_session_secret.encode()).digest()
        key = Fernet(base64.urlsafe_b64encode(digest))
    else:
        log.warning(
            "GATEWAY_DESK_SESSION_SECRET is not set: a key was made for this process; desk sessions "
            "end at every restart and are not shared between gateway processes"
        )
        key = Fernet(Fernet.generate_key())
    return EncryptedCookieStorage(
        key,
        cookie_name=COOKIE,
        path="/desk",
        secure=settings.desk_cookie_secure,
        httponly=True,
        samesite="Strict",
        max_age=settings.desk_idle_minutes * 60,  # the browser drops it too, and Fernet refuses it older
    )


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made once per session (and anew at login)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


# Why the login page is shown (`?reden=`): a fixed text per reason, never text from the query.
NOTICES = {
    "verlopen": "Je sessie is afgelopen. Meld je opnieuw aan.",
    "niet-bewaard": (
        "Je sessie is verlopen of beëindigd: wat je net verstuurde is niet bewaard. Meld je opnieuw "
        "aan; je komt terug op de pagina waar je was en kan het daar opnieuw versturen."
    ),
    "afgemeld": "Je bent afgemeld.",
}


def _form_page(path: str) -> str:
    """The page a desk form posting to `path` sits on: a melding's actions are on its page, a
    suggestion's on the duplicates list, the rest (triage, logout) on or after the triage queue."""
    parts = path.split("/")  # "", "desk", "meldingen", "<id>", "answer"
    if len(parts) > 4 and parts[2] == "meldingen":
        return "/".join(parts[:4])
    if len(parts) > 3 and parts[2] == "duplicates":
        return "/desk/duplicates"
    return "/desk/triage"


def _redirect_to_login(request: web.Request, *, ended: bool) -> web.HTTPSeeOther:
    """Back to the page after login. A form sent after the session ended cannot be replayed (its
    token went with the session, and the browser keeps no copy): the operator is told it was not
    saved and comes back to the page the form was on, where the browser may still hold the text."""
    if request.method == "GET":
        target, reason = request.path_qs, "verlopen" if ended else None
    else:
        target, reason = _form_page(request.path), "niet-bewaard"
    location = f"/desk/login?next={quote(target, safe='/')}"
    return web.HTTPSeeOther(f"{location}&reden={reason}" if reason else location)


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    sent = (await request.post()).get("csrf")
    expected = session.get("csrf")
    if isinstance(sent, str) and isinstance(expected, str) and hmac.compare_digest(sent, expected):
        return True
    log.warning("desk form refused: CSRF token missing or wrong", extra={"path": request.path})
    return False


@web.middleware
async def desk_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = await get_session(request)
    if request.match_info.route.name in PUBLIC:
        if request.method == "POST" and not await _csrf_ok(request, session):
            # A login page left open past the session's lifetime: the form again, not a JSON error.
            return await _login_form(request, None, error=EXPIRED, name="", status=403)
        return await handler(request)
    name, seen = session.get("operator"), session.get("seen")
    now = clock.time()
    idle = request.config_dict[SETTINGS].desk_idle_minutes * 60
    if not isinstance(name, str) or not isinstance(seen, int | float) or now - seen > idle:
        session.invalidate()
        raise _redirect_to_login(request, ended=isinstance(name, str))
    operator = await request.config_dict[STORE].read(operators.get, name)
    tag = session.get("password")  # None: a session from before the tag (ends at its idle time)
    if operator is None or operator.disabled or (tag is not None and tag != operator.password_tag):
        session.invalidate()
        raise _redirect_to_login(request, ended=True)
    if request.method == "POST" and not await _csrf_ok(request, session):
        return error_body(403, "csrf_token", "the form's CSRF token is missing or does not match")
    session["seen"] = now
    request[OPERATOR] = operator
    return await handler(request)


def setup(app: web.Application, settings: Settings) -> None:
    app.middlewares.append(session_middleware(session_storage(settings)))
    app.middlewares.append(desk_guard)


# -- login and logout ----------------------------------------------------------------------------


def _next(target: str | None) -> str:
    """Where to go after login: a desk page only (never another site: no open redirect)."""
    if target and target.startswith("/desk/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/desk/triage"


async def login_page(request: web.Request) -> web.Response:
    notice = NOTICES.get(request.query.get("reden", ""))
    return await _login_form(request, request.query.get("next"), error=None, name="", notice=notice)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    settings = request.config_dict[SETTINGS]
    lockout = Lockout(
        settings.desk_lockout_attempts, settings.desk_lockout_seconds, settings.desk_lockout_max_seconds
    )
    store, redis = request.config_dict[STORE], request.config_dict[REDIS]
    found = await store.read(operators.credentials, name) if operators.NAME.fullmatch(name) else None
    error = "Naam of wachtwoord onjuist."
    now = clock.now()
    account = found is not None and not found.disabled
    if (found is not None and found.locked_until is not None and found.locked_until > now) or (
        not account and await guesses.locked(redis, name, now)
    ):
        error = LOCKED  # the password is not even checked
    elif found is None or found.disabled:
        # As long as for a known name, and counted as for one: a name that locks is no proof it exists.
        await asyncio.to_thread(passwords.verify, None, password)
        if await guesses.failed(redis, name, lockout, clock.now()) is not None:
            error = LOCKED
    elif await asyncio.to_thread(passwords.verify, found.password_hash, password):
        rehash = passwords.needs_rehash(found.password_hash)
        new_hash = await asyncio.to_thread(passwords.hash_password, password) if rehash else None
        operator = await store.write(operators.succeeded, name, new_hash)
        assert operator is not None
        session = await new_session(request)  # a fresh session (and CSRF token) at every login
        session["operator"], session["seen"] = operator.name, clock.time()
        session["password"] = operator.password_tag
        csrf_token(session)
        log.info("desk login", extra={"operator": operator.name})
        raise web.HTTPSeeOther(_next(str(form.get("next", ""))))
    else:
        locked_until = await store.write(operators.failed, name, lockout)
        if locked_until is not None:
            log.warning("desk account locked after failed logins", extra={"operator": name})
            error = LOCKED
    # The name only of an account: a mistyped name may be a password typed in the wrong field.
    log.info("desk login refused", extra={"operator": name if found is not None else "(unknown)"})
    return await _login_form(request, str(form.get("next", "")), error=error, name=name)


async def _login_form(
    request: web.Request,
    target: str | None,
    *,
    error: str | None,
    name: str,
    status: int = 401,
    notice: str | None = None,
) -> web.Response:
    session = await get_session(request)
    context = {
        "csrf": csrf_token(session),
        "next": _next(target),
        "error": error,
        "name": name,
        "notice": notice,
    }
    return aiohttp_jinja2.render_template("login.html", request, context, status=status if error else 200)


async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    log.info("desk logout", extra={"operator": request[OPERATOR].name})
    session.invalidate()
    raise web.HTTPSeeOther("/desk/login?reden=afgemeld")
