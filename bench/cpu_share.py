"""Where a pipeline run's CPU goes: the worker(s), the PostgreSQL backends serving the bench
database, redis-server, and the bench process itself (the case-system receiver), and how much of
the machine sat idle. Read from /proc, so the figures hold on a machine other work shares: the
idle share says whether the run was short of cores, the all-process CPU per melding what a
melding costs the machine (2 cores / that = the ceiling of any number of workers).

The parsing and the accounting are pure functions over /proc's text (tests/test_bench_worker.py);
`snapshot` reads them.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PARTS = ("worker", "postgres", "redis", "bench")


def process_cpu(stat: str, ticks: int = TICKS) -> float:
    """CPU seconds (user + system) of a process from its /proc/<pid>/stat line. The name (field 2)
    may hold spaces and parentheses ("postgres: bench ..."): the fields after its last ')' count."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def machine_times(stat: str) -> tuple[int, int]:
    """(idle, total) jiffies of all cores from /proc/stat's first line; iowait counts as idle."""
    first = stat.splitlines()[0].split()
    assert first[0] == "cpu", first
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return values[3] + values[4], sum(values)


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds per process (by part, then pid) and the machine's (idle, total) jiffies."""

    cpu: Mapping[str, Mapping[int, float]]
    machine: tuple[int, int]
    bench: float = 0.0  # this process (the receiver and the bench's polling), all threads


@dataclass(frozen=True)
class Shares:
    """CPU milliseconds per melding by part, and the machine's idle share during the run."""

    per_melding_ms: dict[str, float] = field(default_factory=dict)
    idle_pct: float = 0.0

    @property
    def all_ms(self) -> float:
        return sum(self.per_melding_ms.values())


def shares(before: Snapshot, after: Snapshot, meldingen: int) -> Shares:
    """The CPU spent between two snapshots, per melding and part. A process seen only in `after`
    (a PostgreSQL backend the pool opened meanwhile) counts all its CPU; one gone by `after`
    cannot be read and is left out (the bench's pools keep theirs open)."""
    spent: dict[str, float] = {}
    for part in PARTS:
        now = after.cpu.get(part, {})
        then = before.cpu.get(part, {})
        spent[part] = sum(cpu - then.get(pid, 0.0) for pid, cpu in now.items())
    spent["bench"] += after.bench - before.bench
    idle = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    per = {part: 1000 * seconds / max(meldingen, 1) for part, seconds in spent.items()}
    return Shares(per, 100 * idle / total if total else 0.0)


def _read_cpu(pids: Iterable[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = process_cpu(Path(f"/proc/{pid}/stat").read_text())
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
    return found


def snapshot(workers: Iterable[int], postgres: Iterable[int], redis: Iterable[int]) -> Snapshot:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Snapshot(
        {"worker": _read_cpu(workers), "postgres": _read_cpu(postgres), "redis": _read_cpu(redis)},
        machine_times(Path("/proc/stat").read_text()),
        usage.ru_utime + usage.ru_stime,
    )
