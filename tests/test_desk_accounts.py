"""The desk's accounts and sessions: `gateway operator`, login, logout, lock-out, CSRF, cookies, idle
timeout. Both stores (the `settings` fixture)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer

from gateway import passwords
from gateway.cli import main as gateway_main
from gateway.config import Settings
from gateway.http.app import create_app
from gateway.store import Store, operators
from gateway.store.operators import Role
from tests.support.api import melding, post, store_of
from tests.support.data import TILE
from tests.support.desk import PASSWORD, add_operator, csrf_in, csrf_of, desk_settings, login


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    on = desk_settings(settings, desk_lockout_attempts=3, desk_lockout_seconds=60, desk_idle_minutes=30)
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


async def _store(settings: Settings) -> Store:
    store = Store(settings.database_url)
    await store.open()
    return store


# ------------------------------------------------------------------------------------------- the CLI


async def test_operator_add_takes_a_piped_password_and_stores_only_its_hash(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("een lang wachtwoord\n"))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "an", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    assert "admin an added" in out and "password" not in out  # nothing to print: it was given
    store = await _store(settings)
    try:
        found = await store.read(operators.credentials, "an")
        assert found is not None and found.password_hash.startswith("$argon2id$")
        assert "een lang wachtwoord" not in found.password_hash
        assert passwords.verify(found.password_hash, "een lang wachtwoord")
        assert (await store.read(operators.get, "an")).role == Role.ADMIN  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_operator_add_at_a_terminal_generates_a_password_and_prints_it_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", Terminal(""))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "bert"]) == 0
    out = capsys.readouterr().out
    assert "operator bert added" in out
    printed = out.split("password (shown once, only the hash is kept): ")[1].strip()
    assert len(printed) >= passwords.MIN_LENGTH
    store = await _store(settings)
    try:
        found = await store.read(operators.credentials, "bert")
        assert found is not None and passwords.verify(found.password_hash, printed)
    finally:
        await store.close()


async def test_operator_add_refuses_a_taken_name_a_bad_name_and_a_short_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("een lang wachtwoord"))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "an"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("een lang wachtwoord"))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "an"]) == 1
    assert "exists already" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("een lang wachtwoord"))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "an de balie"]) == 1
    assert "letters, digits" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("kort"))
    assert await asyncio.to_thread(gateway_main, ["operator", "add", "cis"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err


async def test_operator_disable_and_list(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    for name in ("an", "bert"):
        monkeypatch.setattr("sys.stdin", io.StringIO("een lang wachtwoord"))
        assert await asyncio.to_thread(gateway_main, ["operator", "add", name]) == 0
    assert await asyncio.to_thread(gateway_main, ["operator", "disable", "bert"]) == 0
    assert await asyncio.to_thread(gateway_main, ["operator", "disable", "nobody"]) == 1
    capsys.readouterr()
    assert await asyncio.to_thread(gateway_main, ["operator", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = [line.split("\t")[:3] for line in lines]
    assert listed == [["an", "operator", "active"], ["bert", "operator", "disabled"]]


async def test_operator_enable_and_password_bring_an_account_back(
    desk: TestClient[Any, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A disabled, locked-out or forgotten account comes back under its name: `enable` lets it in
    again, `password` gives it a new password and ends the sessions opened with the old one."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    store = store_of(desk)
    await add_operator(store, "an")
    for _ in range(3):  # the fixture locks after 3 failures
        assert (await login(desk, "an", "niet het wachtwoord")).status == 401
    assert "vergrendeld" in await (await login(desk, "an")).text()
    assert await asyncio.to_thread(gateway_main, ["operator", "enable", "an"]) == 0
    assert (await login(desk, "an")).status == 303  # the lock is lifted
    assert await asyncio.to_thread(gateway_main, ["operator", "disable", "an"]) == 0
    assert (await login(desk, "an")).status == 401
    assert await asyncio.to_thread(gateway_main, ["operator", "enable", "an"]) == 0
    assert (await login(desk, "an")).status == 303
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 200

    monkeypatch.setattr("sys.stdin", io.StringIO("een nieuw lang wachtwoord\n"))
    assert await asyncio.to_thread(gateway_main, ["operator", "password", "an"]) == 0
    assert "an: new password" in capsys.readouterr().out
    ended = await desk.get("/desk/triage", allow_redirects=False)  # opened with the old password
    assert ended.status == 303 and ended.headers["Location"].startswith("/desk/login")
    assert (await login(desk, "an")).status == 401  # the old password is gone
    assert (await login(desk, "an", "een nieuw lang wachtwoord")).status == 303
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 200

    for command in (["enable", "nobody"], ["password", "nobody"]):
        monkeypatch.setattr("sys.stdin", io.StringIO("een nieuw lang wachtwoord"))
        assert await asyncio.to_thread(gateway_main, ["operator", *command]) == 1
        assert "no operator named 'nobody'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("kort"))
    assert await asyncio.to_thread(gateway_main, ["operator", "password", "an"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err


# ----------------------------------------------------------------------------------- login, logout


async def test_login_opens_the_desk_and_logout_closes_it(desk: TestClient[Any, Any]) -> None:
    await add_operator(store_of(desk), "an")
    anonymous = await desk.get("/desk/triage", allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"].startswith("/desk/login?next=/desk/triage")
    done = await login(desk, "an")
    assert done.status == 303 and done.headers["Location"] == "/desk/triage"
    page = await desk.get("/desk/triage")
    assert page.status == 200 and "an (operator)" in await page.text()
    token = csrf_in(await page.text())
    out = await desk.post("/desk/logout", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/desk/login?reden=afgemeld"
    assert "Je bent afgemeld." in await (await desk.get(out.headers["Location"])).text()
    again = await desk.get("/desk/triage", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"].startswith("/desk/login")


async def test_a_wrong_password_or_an_unknown_name_gets_the_same_refusal(desk: TestClient[Any, Any]) -> None:
    await add_operator(store_of(desk), "an")
    wrong, unknown = await login(desk, "an", "niet het wachtwoord"), await login(desk, "nobody", PASSWORD)
    for refused in (wrong, unknown):
        assert refused.status == 401
        assert "Naam of wachtwoord onjuist." in await refused.text()
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 303


async def test_a_disabled_operator_cannot_log_in_and_an_open_session_ends(desk: TestClient[Any, Any]) -> None:
    store = store_of(desk)
    await add_operator(store, "an")
    assert (await login(desk, "an")).status == 303
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 200
    await store.write(operators.disable, "an")
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 303  # out at once
    assert (await login(desk, "an")).status == 401


async def test_a_locked_account_stays_locked_with_the_right_password_until_the_back_off_ends(
    desk: TestClient[Any, Any], clock: time_machine.Traveller
) -> None:
    store = store_of(desk)
    await add_operator(store, "an")
    for _ in range(2):
        assert "onjuist" in await (await login(desk, "an", "fout wachtwoord")).text()
    third = await login(desk, "an", "fout wachtwoord")  # desk_lockout_attempts = 3
    assert third.status == 401 and "vergrendeld" in await third.text()
    right = await login(desk, "an")
    assert right.status == 401 and "vergrendeld" in await right.text()  # the right password: still locked
    clock.shift(timedelta(seconds=59))
    assert (await login(desk, "an")).status == 401
    clock.shift(timedelta(seconds=2))  # 60 s passed
    assert (await login(desk, "an")).status == 303
    # The count starts again after a success; a new run of failures locks again.
    for _ in range(3):
        await login(desk, "an", "fout wachtwoord")
    assert "vergrendeld" in await (await login(desk, "an")).text()


async def test_an_unknown_or_disabled_name_locks_as_an_account_does(
    desk: TestClient[Any, Any], clock: time_machine.Traveller
) -> None:
    """Which names lock must not tell which names exist: the same answers, try after try."""
    store = store_of(desk)
    await add_operator(store, "an")
    await add_operator(store, "bert")
    await store.write(operators.disable, "bert")
    answers: dict[str, list[tuple[int, str]]] = {}
    for name in ("an", "nobody", "bert", "x" * 40):  # an account, none, a disabled one, no possible name
        answers[name] = []
        for _ in range(5):  # desk_lockout_attempts = 3: two refusals, then locked
            refused = await login(desk, name, "fout wachtwoord")
            answers[name].append((refused.status, _message(await refused.text())))
    assert answers["nobody"] == answers["bert"] == answers["x" * 40] == answers["an"]
    assert [message for _, message in answers["an"]] == ["onjuist"] * 2 + ["vergrendeld"] * 3
    clock.shift(timedelta(seconds=61))  # the lock ends, and the next failure locks twice as long
    for name in answers:
        assert _message(await (await login(desk, name, "fout wachtwoord")).text()) == "vergrendeld"
    clock.shift(timedelta(seconds=100))
    assert _message(await (await login(desk, "nobody", "fout wachtwoord")).text()) == "vergrendeld"
    assert _message(await (await login(desk, "an")).text()) == "vergrendeld"


def _message(html: str) -> str:
    return "vergrendeld" if "tijdelijk vergrendeld" in html else "onjuist" if "onjuist" in html else html


async def test_the_back_off_doubles_with_each_failure_past_the_limit(
    desk: TestClient[Any, Any], clock: time_machine.Traveller
) -> None:
    store = store_of(desk)
    await add_operator(store, "an")
    for _ in range(3):
        await login(desk, "an", "fout wachtwoord")
    clock.shift(timedelta(seconds=61))
    await login(desk, "an", "fout wachtwoord")  # the fourth failure in a row: 120 s
    clock.shift(timedelta(seconds=100))
    assert "vergrendeld" in await (await login(desk, "an")).text()
    clock.shift(timedelta(seconds=21))
    assert (await login(desk, "an")).status == 303


# ------------------------------------------------------------------------------------ CSRF, cookies


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(desk: TestClient[Any, Any]) -> None:
    await add_operator(store_of(desk), "an")
    await desk.get("/desk/login")
    no_token = await desk.post("/desk/login", data={"name": "an", "password": PASSWORD})
    assert no_token.status == 403 and "Het formulier was verlopen" in await no_token.text()  # the form again
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 303  # not logged in
    assert (await login(desk, "an")).status == 303
    for data in ({}, {"csrf": "forged"}):
        refused = await desk.post("/desk/logout", data=data, allow_redirects=False)
        assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_token"
    assert (await desk.get("/desk/triage", allow_redirects=False)).status == 200  # still logged in


async def test_the_session_cookie_is_secure_httponly_samesite_strict_and_encrypted(
    settings: Settings,
) -> None:
    on = settings.model_copy(update={"desk_session_secret": "s3cret"})  # desk_cookie_secure: the default
    assert on.desk_cookie_secure is True
    async with TestClient(TestServer(create_app(on))) as c:
        await add_operator(store_of(c), "an")
        page = await c.get("/desk/login")
        [header] = page.headers.getall("Set-Cookie")
        cookie = SimpleCookie(header)["desk_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
        assert cookie["path"] == "/desk"
        assert "csrf" not in cookie.value  # Fernet: the browser cannot read what it holds
        assert page.headers["X-Frame-Options"] == "DENY" and "no-store" in page.headers["Cache-Control"]


async def test_a_session_ends_after_the_idle_timeout_but_not_while_in_use(
    desk: TestClient[Any, Any], clock: time_machine.Traveller
) -> None:
    await add_operator(store_of(desk), "an")
    assert (await login(desk, "an")).status == 303
    for _ in range(3):  # 75 minutes in all, never 30 without a request
        clock.shift(timedelta(minutes=25))
        assert (await desk.get("/desk/triage", allow_redirects=False)).status == 200
    token = await csrf_of(desk)
    clock.shift(timedelta(minutes=31))
    ended = await desk.get("/desk/triage", allow_redirects=False)
    assert ended.status == 303 and ended.headers["Location"].startswith("/desk/login")
    # a form sent after the session ended goes to the login page too, and changes nothing
    late = await desk.post("/desk/logout", data={"csrf": token}, allow_redirects=False)
    assert (
        late.status == 303 and late.headers["Location"] == "/desk/login?next=/desk/triage&reden=niet-bewaard"
    )


async def test_a_form_sent_after_the_session_ended_says_so_and_leads_back_to_its_page(
    desk: TestClient[Any, Any], clock: time_machine.Traveller
) -> None:
    """The operator typed an answer, the session ended meanwhile: the login page says it was not
    saved, and after login they are back on the melding's page, not on the triage queue."""
    await add_operator(store_of(desk), "an")
    created = await post(desk, TILE)
    page = f"/desk/meldingen/{created['id']}"
    assert (await login(desk, "an")).status == 303
    token = await csrf_of(desk, page)
    clock.shift(timedelta(minutes=31))
    late = await desk.post(
        f"{page}/answer", data={"csrf": token, "text": "Dat is hersteld."}, allow_redirects=False
    )
    assert late.status == 303 and late.headers["Location"] == f"/desk/login?next={page}&reden=niet-bewaard"
    shown = await (await desk.get(late.headers["Location"])).text()
    assert "wat je net verstuurde is niet bewaard" in shown and f'name="next" value="{page}"' in shown
    form = {"csrf": csrf_in(shown), "name": "an", "password": PASSWORD, "next": page}
    back = await desk.post("/desk/login", data=form, allow_redirects=False)
    assert back.status == 303 and back.headers["Location"] == page
    assert (await melding(desk, created["id"]))["status"] == "ontvangen"  # nothing was sent
    # A page opened once the session ended (here: the operator was disabled) says so too.
    await store_of(desk).write(operators.disable, "an")
    ended = await desk.get(page, allow_redirects=False)
    assert ended.headers["Location"] == f"/desk/login?next={page}&reden=verlopen"
    assert "Je sessie is afgelopen." in await (await desk.get(ended.headers["Location"])).text()


async def test_login_goes_only_to_a_desk_page_afterwards(desk: TestClient[Any, Any]) -> None:
    await add_operator(store_of(desk), "an")
    token = csrf_in(await (await desk.get("/desk/login")).text())
    form = {"csrf": token, "name": "an", "password": PASSWORD, "next": "//evil.example/desk/"}
    done = await desk.post("/desk/login", data=form, allow_redirects=False)
    assert done.headers["Location"] == "/desk/triage"
    assert await csrf_of(desk) != token  # a fresh session and token at login
