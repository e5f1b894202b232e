"""Faults made for real: a TCP forwarder on loopback that can take a server out of reach, and a
directory on a filesystem with no space left."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.attachments import AttachmentStore


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a real server. `cut()` closes the listener and every connection
    (connections are refused from then on, as when the server is down); `restore()` listens again
    on the same port."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def restore(self) -> None:
        await self.start()


@contextlib.contextmanager
def full_disk(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`directory` (created if need be) on a full filesystem: a 64 KiB tmpfs mounted over it and
    filled, so every write there fails with ENOSPC as on a real full disk (needs root, as `make
    test` runs here). Where mounting is not permitted, the attachment store's one writing function
    raises ENOSPC instead, and a warning in the test summary says so. Yields "tmpfs" or "injected"."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        why = mount.stderr.strip() or f"mount exited with {mount.returncode}"
    except OSError as exc:
        mount, why = None, str(exc)
    if mount is None or mount.returncode != 0:
        warnings.warn(
            f"no tmpfs for a full disk ({why}): ENOSPC injected into AttachmentStore.save_new", stacklevel=3
        )

        def refuse(*_: Any, **__: Any) -> Any:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(AttachmentStore, "save_new", refuse)
        yield "injected"
        return
    try:
        fd = os.open(directory / ".filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
        yield "tmpfs"
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)
