"""Training in parallel processes (gateway.classify.parallel): the same model as one by one,
progress from every process, and a failing or dying child as a clear error with no process left."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.classify import model as m
from gateway.classify import parallel
from tests.support import fits
from tests.support.classify import SMALL, rules, subset, use_few_dev_sets


def _fingerprint(trained: m.TrainedModel) -> dict[str, Any]:
    meta = {k: v for k, v in trained.meta.items() if k not in ("trained_at", "training_seconds")}
    texts = [r.full_text for r in subset(60)]
    scores = np.ascontiguousarray(m.raw_scores(trained.nlp, texts))
    return {
        "meta": meta,
        "textcat": hashlib.sha256(trained.nlp.get_pipe("textcat").to_bytes()).hexdigest(),
        "predictions": hashlib.sha256(scores.tobytes()).hexdigest(),
    }


def test_parallel_training_gives_the_model_of_sequential_training(monkeypatch: pytest.MonkeyPatch) -> None:
    use_few_dev_sets(monkeypatch)
    rows = subset()
    config = m.TrainConfig(epochs=2, folds=3, length=2**14)  # the same either way: two epochs show it
    one_by_one = _fingerprint(m.train(rows, config, rules(), processes=1))
    parallel_ = _fingerprint(m.train(rows, config, rules(), processes=3))
    assert parallel_ == one_by_one
    # A real calibration was compared, not the defaults of an empty one.
    assert one_by_one["meta"]["cv"]["folds"] == 3
    assert one_by_one["meta"]["temperature_folds"] != 1.0


def _own(batches: int, done: list[int], pause: float = 0.0) -> Callable[[Callable[[], None]], str]:
    def fit(tick: Callable[[], None]) -> str:
        for _ in range(batches):
            tick()
            done.append(1)
            time.sleep(pause)
        return "final"

    return fit


def test_results_come_in_order_and_every_batch_moves_the_progress() -> None:
    counted: list[int] = []
    jobs = [(fits.batches, (n,)) for n in (7, 3, 5)]
    results, mine = parallel.run_beside(jobs, _own(4, []), processes=2, progress=counted.append)
    assert (results, mine) == ([7, 3, 5], "final")
    assert sum(counted) == 7 + 3 + 5 + 4


def test_a_failing_fit_stops_the_others_and_names_the_error(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    jobs = [(fits.sleeps, (str(pid_file),)), (fits.broken, ("fold 2 has no rows", str(pid_file)))]
    done: list[int] = []
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            parallel.run_beside(jobs, _own(10_000, done, 0.01), processes=2, progress=lambda n: None)
        except parallel.FitFailed as exc:
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(timeout=120)  # a bound on a hang, not a speed: the sleeping child never ends
    try:
        assert not runner.is_alive(), "run_beside waited for a child that never ends"
    finally:
        _kill(pid_file)
    [error] = outcome
    assert "ValueError: fold 2 has no rows" in str(error)
    assert len(done) < 10_000  # the parent's own fit stopped too
    assert not _alive(int(pid_file.read_text()))


def test_a_child_that_dies_is_an_error_not_a_hang() -> None:
    jobs = [(fits.dies, ()), (fits.batches, (3,))]
    with pytest.raises(parallel.FitFailed, match="died"):
        parallel.run_beside(jobs, _own(10_000, [], 0.01), processes=2, progress=lambda n: None)


def test_training_reports_a_failed_child_as_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise parallel.FitFailed("a fit in a training process failed: MemoryError: ")

    monkeypatch.setattr(parallel, "run_beside", failing)
    with pytest.raises(m.ModelError, match="training failed: .*MemoryError"):
        m.train(subset(5), SMALL, rules(), processes=2)


def test_release_stops_the_server_of_children_and_a_later_run_starts_another() -> None:
    # A process that trained once at start (gateway up) keeps no idle copy of spaCy beside it.
    def run() -> list[Any]:
        return parallel.run_beside([(fits.batches, (2,))], _own(1, []), processes=1, progress=print)[0]

    assert run() == [2]
    assert _forkservers()
    parallel.release()
    assert not _forkservers()
    assert run() == [2]
    parallel.release()


# A training run killed with SIGTERM (a service manager stopping it, `kill`): its fits in other processes.
_KILLED_RUN = """
import sys, time
from gateway.classify import parallel
from tests.support import fits

def own(tick):
    while True:
        tick()
        time.sleep(0.05)

parallel.run_beside([(fits.sleeps, (sys.argv[1],))], own, processes=1, progress=lambda n: None)
"""


def test_a_run_killed_with_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    run = subprocess.Popen(  # its own session: whatever it leaves behind keeps that session's id
        [sys.executable, "-c", _KILLED_RUN, str(pid_file)], start_new_session=True, cwd=Path.cwd()
    )
    try:
        for _ in range(600):  # a bound on a hang: the child writes its pid once it fits
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        child = int(pid_file.read_text())
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
        assert not _alive(child)
        assert _in_session(run.pid) == []
    finally:
        _kill(pid_file)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)


def _in_session(sid: int) -> list[int]:
    """The running processes of session `sid` (zombies not yet reaped count as gone)."""
    found = []
    for _ in range(50):
        found = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
        if not found:
            return []
        time.sleep(0.1)
    return found


def _forkservers() -> list[int]:
    """This process's children that are multiprocessing's forkserver."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"multiprocessing.forkserver" in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie a forkserver has yet to reap counts as gone)."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


def _kill(pid_file: Path) -> None:
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), 9)
