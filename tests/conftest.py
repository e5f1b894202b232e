"""Shared fixtures: real Redis (own db number), real SQLite and PostgreSQL, real HTTP peers.

Every test that takes `settings` runs twice, once per store backend. PostgreSQL
tests use their own database (`gateway_test`, GATEWAY_TEST_PG_DB), emptied
before each test and dropped at the end; Redis tests use db 13
(GATEWAY_TEST_REDIS_URL), flushed before and after each test. Two test runs
at once need their own values of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from arq.worker import Worker

from gateway.app import create_app
from gateway.config import Settings
from gateway.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from tests.twilio_api import FakeTwilio, fake_twilio

# aiosmtpd's session chatter comes from its controller thread, sometimes after pytest has
# closed the captured stream ("Logging error"): only its warnings matter here.
logging.getLogger("mail.log").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_ADMIN_URL = os.environ.get("GATEWAY_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_TEST_DB = os.environ.get("GATEWAY_TEST_PG_DB", "gateway_test")
SECRET = "test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def _reset_pg(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    url = request.getfixturevalue("pg_database")
    await _reset_pg(url)
    return url


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@dataclass
class Receiver:
    """A case system stand-in: verifies signatures, records deliveries, answers as scripted."""

    url: str = ""
    responses: list[int] = field(default_factory=list)  # status codes to answer, in order; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    started: int = 0  # requests that arrived (answered or not yet)

    @property
    def created(self) -> list[dict[str, Any]]:
        return [r for r in self.received if r["ok"] and r["body"]["event"] == "melding.created"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        rec.started += 1
        try:
            verify(SECRET, raw, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
            signed = True
        except SignatureError:
            signed = False
        if rec.delay:
            await asyncio.sleep(rec.delay)
        status = rec.responses.pop(0) if rec.responses else 200
        rec.received.append(
            {
                "body": json.loads(raw),
                "headers": dict(request.headers),
                "signed": signed,
                "status": status,
                "ok": status == 200 and signed,
            }
        )
        if not signed:
            return web.json_response({"error": "bad signature"}, status=401)
        return web.json_response({"case_id": f"C{len(rec.received)}"}, status=status)

    app = web.Application()
    app.router.add_post("/case-system", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rec.url = str(server.make_url("/case-system"))
    yield rec
    await server.close()


class RelayHandler:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(envelope)
        return "250 OK"


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


async def run_worker(settings: Settings) -> None:
    """Run a burst worker: it returns once the queue (including deferred retries) is empty."""
    from workers.settings import worker_options

    opts = worker_options(settings)
    opts["cron_jobs"] = []  # tests call the sweep themselves
    worker = Worker(**opts, burst=True)
    try:
        await asyncio.wait_for(worker.main(), timeout=60)
    finally:
        await worker.close()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str

    def url(self, folder: str = "INBOX", password: str | None = None) -> str:
        return f"imap://{self.user}:{password or self.password}@{self.host}:{self.port}/{folder}"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A real dovecot IMAP server in a temp dir (Debian's dovecot-imapd; `.ci/run` installs it)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        pytest.fail("dovecot is needed for the IMAP tests: apt-get install dovecot-imapd (`.ci/run` does)")
    # Not under pytest's tmp_path: its parents are private, and dovecot's unprivileged
    # login and auth processes must reach their sockets and the password file.
    base = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
    for sub in ("run", "state", "home"):
        (base / sub).mkdir(parents=True)
    for path in (base, base / "run"):
        path.chmod(0o755)
    shutil.chown(base / "home", "nobody", "nogroup")
    (base / "passwd").write_text("meldpunt:{PLAIN}geheim\n")
    port = free_port()
    (base / "dovecot.conf").write_text(DOVECOT_CONF.format(base=base, port=port))
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(base / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"dovecot did not start: {proc.stdout.read() if proc.stdout else ''}")
    yield Dovecot("127.0.0.1", port, "meldpunt", "geheim")
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(base, ignore_errors=True)


DOVECOT_CONF = """
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
listen = 127.0.0.1
protocols = imap
disable_plaintext_auth = no
auth_mechanisms = plain login
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """A local stand-in for Twilio's REST API (tests/twilio_api.py)."""
    async with fake_twilio() as fake:
        yield fake
