"""A real dovecot IMAP server in a temp dir (Debian's dovecot-imapd; `.ci/run` installs it)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.http import free_port


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str

    def url(self, folder: str = "INBOX", password: str | None = None) -> str:
        return f"imap://{self.user}:{password or self.password}@{self.host}:{self.port}/{folder}"


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start dovecot on a free port with one user, and stop it and remove its files at the end."""
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
    # Its output to a file, not a pipe nobody reads (a full pipe would stop dovecot; an open one leaks).
    output = base / "output.log"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-F", "-c", str(base / "dovecot.conf")], stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        proc.wait()
        pytest.fail(f"dovecot did not start: {output.read_text(errors='replace')}")
    try:
        yield Dovecot("127.0.0.1", port, "meldpunt", "geheim")
    finally:
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
