"""The IMAP poller: reads an existing mailbox (GATEWAY_IMAP_URL, one or more).

Each mailbox runs in its own thread (imap-tools is blocking), so one broken
mailbox never stops another. Per message: fetch the exact raw bytes (BODY.PEEK,
so nothing is marked read), hand them to `MailIntake` on the gateway's loop, and
only when that returned (stored and queued) move the message to the processed
folder. A crash in between leaves the message in the inbox; the next pass hands
it over again and the Message-ID dedupe makes that harmless.
IDLE where the server offers it, polling otherwise; reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted

from gateway.channels.email.mailintake import MailIntake
from gateway.config import ConfigError

log = logging.getLogger(__name__)

IDLE_SECONDS = 15.0  # servers allow up to 29 minutes; a shorter round notices a dead connection sooner
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str
    password: str = field(repr=False)  # never in a log line or a traceback's locals
    folder: str
    secure: bool

    @property
    def name(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"

    @classmethod
    def from_url(cls, url: str) -> MailboxConfig:
        parts = urlparse(url.strip())
        try:
            port = parts.port
        except ValueError:  # not a number, or out of range
            port = -1
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username or port == -1:
            shown = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
            raise ConfigError(
                f"GATEWAY_IMAP_URL: expected imap[s]://user:password@host:port/FOLDER, got {shown!r}"
            )
        return cls(
            host=parts.hostname,
            port=port or (993 if parts.scheme == "imaps" else 143),
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            secure=parts.scheme == "imaps",
        )


class ImapPoller:
    def __init__(
        self, config: MailboxConfig, mail: MailIntake, loop: asyncio.AbstractEventLoop, *,
        processed_folder: str, poll_interval: float,
    ):  # fmt: skip
        self.config = config
        self.mail = mail
        self.loop = loop
        self.processed_folder = processed_folder
        self.poll_interval = poll_interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"imap-{config.name}", daemon=True)
        self.imported = 0
        # The socket of the IDLE round under way (None between rounds), under `_idle_lock`: `stop`
        # shuts it down, so that shutting the gateway down never waits out the round.
        self._idle_socket: socket.socket | None = None
        self._idle_lock = threading.Lock()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        with self._idle_lock:
            if self._idle_socket is not None:
                with suppress(OSError):
                    self._idle_socket.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout)

    def _connect(self) -> BaseMailBox:
        c = self.config
        box = MailBox(c.host, c.port) if c.secure else MailBoxUnencrypted(c.host, c.port)
        try:
            return box.login(c.user, c.password, initial_folder=c.folder)
        except BaseException:
            _shut(box)  # a refused login leaves the connection open: or every retry leaks a socket
            raise

    def _run(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                box = self._connect()
                try:
                    log.info("IMAP connected", extra={"mailbox": self.config.name})
                    backoff = 1.0
                    self._ensure_folder(box)
                    self._serve(box)
                finally:
                    _close(box)
            except Exception as exc:  # a broken mailbox waits and tries again; the others go on
                if self.stop_event.is_set():
                    break  # the connection `stop` cut short: no fault of the mailbox's
                log.warning(
                    "IMAP mailbox unavailable (%s: %s); retrying in %.0f s", type(exc).__name__, exc, backoff,
                    extra={"mailbox": self.config.name},
                )  # fmt: skip
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _serve(self, box: BaseMailBox) -> None:
        idle = b"IDLE" in {cap.encode() if isinstance(cap, str) else cap for cap in box.client.capabilities}
        while not self.stop_event.is_set():
            self.drain(box)
            if idle:
                self._idle_round(box)
            else:
                self.stop_event.wait(self.poll_interval)

    def _idle_round(self, box: BaseMailBox) -> None:
        with self._idle_lock:
            if self.stop_event.is_set():
                return
            self._idle_socket = box.client.sock
        try:
            box.idle.wait(timeout=IDLE_SECONDS)
        finally:
            with self._idle_lock:
                self._idle_socket = None

    def _ensure_folder(self, box: BaseMailBox) -> None:
        if not box.folder.exists(self.processed_folder):
            box.folder.create(self.processed_folder)

    def drain(self, box: BaseMailBox) -> int:
        """Hand over every message in the folder; returns how many were moved away."""
        moved = 0
        for uid in box.uids():
            if self.stop_event.is_set():
                break
            status, data = box.client.uid("fetch", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if status != "OK" or raw is None:
                log.warning(
                    "IMAP fetch of uid %s failed: %s", uid, status, extra={"mailbox": self.config.name}
                )
                continue
            future = asyncio.run_coroutine_threadsafe(
                self.mail.accept(raw, envelope_from=None, source=f"imap:{self.config.name}"), self.loop
            )
            try:
                outcome = future.result(timeout=300)
            except Exception:
                log.exception("IMAP message uid %s not stored; it stays in the inbox", uid)
                continue
            box.move(uid, self.processed_folder)
            moved += 1
            self.imported += outcome.kind != "duplicate"
        return moved


def _close(box: BaseMailBox) -> None:
    """LOGOUT; where the connection is cut already (a stop, a dead server), imaplib's LOGOUT fails
    before it closes the socket: closed all the same, or it would linger until collected."""
    try:
        box.logout()
    except Exception:
        _shut(box)


def _shut(box: BaseMailBox) -> None:
    """The connection's socket closed, without a word to the server."""
    with suppress(OSError):
        box.client.shutdown()


def start_pollers(
    urls: str, mail: MailIntake, *, processed_folder: str, poll_interval: float
) -> list[ImapPoller]:
    loop = asyncio.get_running_loop()
    pollers = [
        ImapPoller(MailboxConfig.from_url(url), mail, loop, processed_folder=processed_folder,
                   poll_interval=poll_interval)
        for url in urls.split(",") if url.strip()
    ]  # fmt: skip
    for poller in pollers:
        poller.start()
    return pollers
