"""Shared fixtures: real Redis (own db number), real SQLite and PostgreSQL, real HTTP peers.

Every test that takes `settings` runs twice, once per store backend. PostgreSQL
tests use their own database (`gateway_test`, GATEWAY_TEST_PG_DB), emptied
before each test and dropped at the end; Redis tests use db 13
(GATEWAY_TEST_REDIS_URL), flushed before and after each test. Two test runs
at once need their own values of both; the processes of one run (`pytest -n 2`, as
`make test` runs) each derive their own from them (below).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, Page, async_playwright

from gateway.config import Settings
from gateway.http.app import create_app
from tests.support import phone, sms
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, new_page, screenshot_path
from tests.support.data import ROOT
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.fresh_store import migrated_sqlite_file, reset_postgres
from tests.support.http import READ_TOKEN, SECRET, Receiver, RelayHandler, free_port, serve_receiver
from tests.support.topdesk import FakeTopdesk, fake_topdesk, known_from
from tests.support.twilio import FakeTwilio, fake_twilio
from workers.casesystem.topdesk_config import load as load_topdesk_file

# The desk's `on` and `desk_client`, shared by the tests of its pages.
pytest_plugins = ["tests.support.desk_fixtures"]

# aiosmtpd's session chatter comes from its controller thread, sometimes after pytest has
# closed the captured stream ("Logging error"): only its warnings matter here.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def _own_databases_per_xdist_worker() -> None:
    """Under pytest-xdist (`make test` runs two processes) every worker gets its own PostgreSQL
    database and Redis db number, written back to the environment so that every test module and
    every process a test starts reads the same: gw0 keeps the configured ones, gwN adds N to the
    Redis db number and `_gwN` to the database name."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get("GATEWAY_TEST_XDIST_DONE") == worker:
        return
    n = int(worker.removeprefix("gw"))
    base, _, db = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13").rpartition("/")
    redis_db = int(db or 0) + n
    if redis_db > 15:
        raise pytest.UsageError(f"xdist worker {worker} needs Redis db {redis_db}: lower the base db")
    os.environ["GATEWAY_TEST_REDIS_URL"] = f"{base}/{redis_db}"
    if n:
        os.environ["GATEWAY_TEST_PG_DB"] = f"{os.environ.get('GATEWAY_TEST_PG_DB', 'gateway_test')}_{worker}"
    os.environ["GATEWAY_TEST_XDIST_DONE"] = worker


_own_databases_per_xdist_worker()

# The files that train full routing models, slowest first: `make test` hands whole files to its two
# processes in collection order (`--no-loadscope-reorder` in pyproject), so these start at once, side
# by side, instead of the newcomer's first-start training starting last and running alone at the end.
SLOW_FIRST = (
    "test_processes.py",
    "test_classify_traps.py",
    "test_classify_model.py",
    "test_classify_parallel.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}
    # A stable sort: the other files keep their order.
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))


REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_ADMIN_URL = os.environ.get("GATEWAY_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_TEST_DB = os.environ.get("GATEWAY_TEST_PG_DB", "gateway_test")


def _pg_url(db: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def admin(sql: str) -> None:
        # In a thread of its own: this fixture may be first requested from inside a running loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, execute(sql)).result()

    try:
        admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)")
        admin(f"CREATE DATABASE {PG_TEST_DB}")
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN_URL} is needed for the store tests ({exc}); `.ci/run` starts it"
        )
    yield _pg_url(PG_TEST_DB)
    admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # In a thread of its own: this fixture may be first requested from inside a running loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(migrated_sqlite_file, tmp_path_factory.mktemp("migrated-sqlite")).result()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store as a first start leaves it (marked `empty_store`: with no schema at all)."""
    empty = request.node.get_closest_marker("empty_store") is not None
    if request.param == "sqlite":
        path = tmp_path / "gateway.db"
        if not empty:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    await reset_postgres(url, empty=empty)
    return url


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as rec:
        yield rec


@pytest.fixture
def smtp_relay() -> Iterator[tuple[str, RelayHandler]]:
    handler = RelayHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)  # probes its port at start: no port 0
    controller.start()
    yield f"127.0.0.1:{port}", handler
    controller.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, receiver: Receiver, redis_client: aioredis.Redis) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        data_dir=tmp_path / "data",
        diensten_file=ROOT / "config" / "diensten.toml",
        templates_dir=ROOT / "config" / "templates",
        dedupe_file=ROOT / "config" / "dedupe.toml",
        street_register_file=ROOT / "config" / "streets.csv",
        case_system_url=receiver.url,
        case_system_secret=SECRET,
        api_read_token=READ_TOKEN,
        case_system_timeout=2.0,
        public_url="https://meldpunt.example",
        delivery_max_attempts=4,
        delivery_backoff_base=0.05,
        delivery_backoff_max=0.2,
        sweep_grace=0.0,
        queue_name="gateway:test-queue",
        max_body_bytes=64 * 1024,
        max_attachment_bytes=16 * 1024,
        max_mail_bytes=256 * 1024,
        log_format="text",
        # No model: the rules route alone (tests/test_classify*.py train their own).
        model_dir=tmp_path / "models",
        model_autotrain=False,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


@pytest.fixture
async def every_channel(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the app with every channel on: phone records and Twilio SMS beside the API."""
    on = settings.model_copy(
        update={
            "phone_secret": phone.PHONE_SECRET,
            "twilio_auth_token": sms.TOKEN,
            "twilio_number": sms.OUR_NUMBER,
        }
    )
    async with TestClient(TestServer(create_app(on))) as c:
        yield c


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A real dovecot IMAP server (tests/support/dovecot.py)."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """A local stand-in for Twilio's REST API (tests/support/twilio.py)."""
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
async def topdesk() -> AsyncIterator[FakeTopdesk]:
    """A local TOPdesk stand-in (tests/support/topdesk.py) knowing what config/topdesk.toml names."""
    async with fake_topdesk(known_from(load_topdesk_file(ROOT / "config" / "topdesk.toml"))) as fake:
        yield fake


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The clock stands still at the real now until the test moves it: `clock.shift(seconds)`.

    For tests that wait for a window to pass (a settle time, a resend's due time, the sweep's
    cut-off): moving the clock cannot race it as a sleep can. Everything that reads the wall
    clock sees the moved time: gateway.clock, arq's job scores and a worker running in the test's
    process; asyncio's timers (monotonic) keep real time, so polling and timeouts still work.
    A job that defers itself is not due until the clock moves past it: before a burst worker
    must run such a job, let time run again with `clock.move_to(datetime.now(UTC), tick=True)`.
    """
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright (tests/support/browser.py)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh page; what it shows at the end of the test is kept as a screenshot artifact."""
    tab = await new_page(browser)
    try:
        yield tab
    finally:
        await tab.screenshot(path=screenshot_path(request.node.name), full_page=True)
        await tab.context.close()
