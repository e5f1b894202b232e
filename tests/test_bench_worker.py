"""bench/cpu_share.py: the worker benchmark's accounting of every process's CPU per melding and
of the machine's idle share, from /proc text (no benchmark is run here)."""

from __future__ import annotations

import os

import pytest

from bench.cpu_share import Shares, Snapshot, machine_times, process_cpu, shares, snapshot

# A PostgreSQL backend's /proc/<pid>/stat: its name holds spaces and a ')'.
BACKEND = (
    "4242 (postgres: postgres gateway_bench (worker) idle) S 1 4242 4242 0 -1 4194304 812 0 0 0 "
    "350 125 0 0 20 0 1 0 123456 219000000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 "
    "17 1 0 0 0 0 0"
)


def test_a_process_cpu_is_its_user_and_system_time_whatever_its_name() -> None:
    assert process_cpu(BACKEND, ticks=100) == pytest.approx(4.75)  # (350 + 125) / 100


def test_the_machine_idle_time_counts_iowait_and_the_total_every_state() -> None:
    stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1\n"
    assert machine_times(stat) == (840, 1000)


def test_shares_are_per_melding_by_part_with_new_backends_counted_whole() -> None:
    before = Snapshot(
        {"worker": {1: 10.0, 2: 20.0}, "postgres": {7: 3.0}, "redis": {9: 1.0}}, (1000, 4000), bench=2.0
    )
    after = Snapshot(
        # backend 8 opened during the run: all its 0.5 s count
        {"worker": {1: 11.0, 2: 21.5}, "postgres": {7: 3.6, 8: 0.5}, "redis": {9: 1.2}},
        (1500, 6000),
        bench=2.3,
    )
    got = shares(before, after, meldingen=1000)
    assert got.per_melding_ms == pytest.approx({"worker": 2.5, "postgres": 1.1, "redis": 0.2, "bench": 0.3})
    assert got.all_ms == pytest.approx(4.1)
    assert got.idle_pct == pytest.approx(25.0)  # 500 of 2000 jiffies idle


def test_a_process_gone_at_the_snapshot_is_left_out_not_an_error() -> None:
    gone = 2**22 + 12345  # above any pid_max default: no such process
    taken = snapshot([os.getpid(), gone], [], [])
    assert list(taken.cpu["worker"]) == [os.getpid()]
    assert taken.cpu["worker"][os.getpid()] > 0
    idle, total = taken.machine
    assert 0 <= idle <= total and total > 0
    assert Shares().all_ms == 0
