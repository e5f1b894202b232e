"""Jobs for gateway.classify.parallel's tests: module-level, so a child process can import them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def batches(n: int, tick: Callable[[], None]) -> int:
    for _ in range(n):
        tick()
    return n


def broken(message: str, after: str, tick: Callable[[], None]) -> None:
    """Fails once the file `after` exists (another child's pid: both are running then)."""
    tick()
    for _ in range(600):
        if Path(after).exists():
            break
        time.sleep(0.05)
    raise ValueError(message)


def dies(tick: Callable[[], None]) -> None:
    tick()
    os._exit(3)  # as a child the kernel kills for memory: no exception, no result


def sleeps(pid_file: str, tick: Callable[[], None]) -> None:
    """Writes its pid, then fits "forever": the run must end it rather than wait."""
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        tick()
        time.sleep(0.05)
