"""Fits in child processes beside the parent's own: `gateway.classify.model.train` fits the
calibration folds here while it fits the final model itself.

Children come from a forkserver, not from fork: `gateway up` trains in a thread beside its event
loop, and a fork copies the locks other threads hold into a child that may then wait on them
forever. The server imports spaCy and the model code once (PRELOAD), so a child starts in a
fraction of a second instead of importing spaCy itself (spawn: about 3 s of CPU per child).

A child counts its batches in its own slot of a shared array (one writer per slot, no lock a
killed child could leave held); the parent adds them to its progress as it goes. The first
failure stops the parent's own fit at its next batch and ends the children: FitFailed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
Tick = Callable[[], None]
# A module-level function (pickled by name) and its arguments; it gets a tick as last argument.
Job = tuple[Callable[..., Any], tuple[Any, ...]]

PRELOAD = ["spacy", "spacy.lang.nl", "thinc.api", "gateway.classify.model"]
POLL_SECONDS = 0.5  # how often the progress moves once the parent's own fit is done

_slots: Any = None  # in a child: the shared batch counters


class FitFailed(Exception):
    """A fit in a child process failed or the child died; the message says which and why."""


class TrainingCancelled(Exception):
    """The process that trains is shutting down (`gateway up` stopped during its first-start
    training): the run stops at its next batch, its children ended, nothing saved."""


# A thread cannot be interrupted from outside: a training run in one (`gateway up`) checks this
# event, set by whoever runs it (`cancellable`), at every batch and while it prepares its texts.
_cancel: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "training_cancel", default=None
)


@contextlib.contextmanager
def cancellable(cancel: threading.Event) -> Iterator[None]:
    """Trainings run inside stop with TrainingCancelled at their next check once `cancel` is set."""
    token = _cancel.set(cancel)
    try:
        yield
    finally:
        _cancel.reset(token)


def check_cancelled() -> None:
    cancel = _cancel.get()
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training stopped: the process is shutting down")


def checked(items: Sequence[T], every: int = 256) -> Iterator[T]:
    """`items`, with `check_cancelled` every `every` of them (a long preparation stops too)."""
    for n, item in enumerate(items):
        if n % every == 0:
            check_cancelled()
        yield item


class _Stop(Exception):
    """Raised in the parent's own fit once a child has failed: no point finishing it."""


def _start_child(slots: Any) -> None:
    global _slots
    _slots = slots


def _run_job(slot: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    def tick() -> None:
        _slots[slot] += 1

    return fn(*args, tick)


def cores() -> int:
    """The cores this process may run on (a container's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def run_beside(
    jobs: Sequence[Job], own: Callable[[Tick], T], *, processes: int, progress: Callable[[int], object]
) -> tuple[list[Any], T]:
    """The jobs' results, in order, from at most `processes` children, and `own(tick)` run here
    meanwhile. `progress(n)` hears of every batch, the children's and its own."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    slots = context.Array("q", len(jobs), lock=False)
    counted = 0
    failures: list[BaseException] = []

    def forward() -> None:
        nonlocal counted
        done = sum(slots)
        if done > counted:
            progress(done - counted)
            counted = done

    def own_tick() -> None:
        if failures:
            raise _Stop
        progress(1)
        forward()

    def note(future: Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            failures.append(future.exception())  # type: ignore[arg-type]

    executor = ProcessPoolExecutor(
        min(processes, len(jobs)), mp_context=context, initializer=_start_child, initargs=(slots,)
    )
    futures: list[Future[Any]] = []
    with _terminate_ends_children():  # a killed training leaves no child behind
        try:
            for n, (fn, args) in enumerate(jobs):
                futures.append(executor.submit(_run_job, n, fn, args))
                futures[-1].add_done_callback(note)
            mine = own(own_tick)
            while concurrent.futures.wait(futures, timeout=POLL_SECONDS).not_done and not failures:
                forward()
            forward()
            if failures:
                raise _Stop
            return [f.result() for f in futures], mine
        except (_Stop, BrokenProcessPool) as stop:  # the pool may break while jobs are still submitted
            cause = failures[0] if failures else stop
            raise _failure(cause) from cause
        finally:
            if failures or not all(f.done() for f in futures):
                # After a failure too: a pool that broke while it was still starting a child can have
                # that child waiting for work for ever, and shutdown would wait for it (seen in CI).
                _end_children(executor)
            executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _terminate_ends_children() -> Iterator[None]:
    """SIGTERM ends a run as Ctrl-C does, as an exception, so the `finally` above ends the children.
    By default SIGTERM kills the parent alone and leaves the pool's children and the forkserver
    waiting for work for ever (seen when a `gateway train` was killed). Only the main thread can
    take a signal: a run in another thread (`gateway up` trains beside its event loop) keeps the
    process's own handling."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def release() -> None:
    """Stop the forkserver, which keeps spaCy loaded (about 100 MB) while it waits for the next
    training: for a long-running process that trained once at start. The next run starts another."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)  # no public way to stop it (Python 3.11)
    if stop is not None:
        stop()


def _failure(exc: BaseException) -> FitFailed:
    if isinstance(exc, BrokenProcessPool):
        return FitFailed(f"a training process died (out of memory or killed?): {exc}")
    return FitFailed(f"a fit in a training process failed: {exc.__class__.__name__}: {exc}")


def _end_children(executor: ProcessPoolExecutor) -> None:
    """Kill the children still fitting: shutdown alone waits for a running job to finish."""
    # No public way before Python 3.14 (terminate_workers); _processes maps pid to process.
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.terminate()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _CheckedBar:
    """Every batch, the parent's own and its children's, is counted here: where a run can stop."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def update(self, n: int = 1) -> None:
        check_cancelled()
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def progress_bar(total: int, enabled: bool) -> Any:
    """A bar for `total` batches on stderr (none unless `enabled`); its `update` checks whether the
    run was cancelled."""
    if not enabled:
        return _CheckedBar(_NoBar())
    from tqdm import tqdm

    return _CheckedBar(
        tqdm(total=total, desc="training", unit="batch", file=sys.stderr, dynamic_ncols=True, mininterval=1.0)
    )
