"""Duplicate detection: reports of one real-world problem linked to its first report.

The worker uses `gateway.dedupe.service.StoreDuplicateFinder` (locate: `locate.py` with the
street register of `register.py`; decide: `finder.py`; configuration: `config/dedupe.toml`);
`gateway dedupe` the same decision over an in-memory index (`commands.py`). `NoDuplicates`
keeps every melding on its own (tests and benchmarks that measure something else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.melding import Melding


@dataclass(frozen=True)
class DuplicateMatch:
    master_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Suggestion:
    """An open problem this melding may well report, below the automatic threshold: for the desk
    to decide (`candidate_id` is the problem's first report)."""

    candidate_id: str
    score: float
    reason: str


class DuplicateFinder(Protocol):
    async def find(self, melding: Melding) -> DuplicateMatch | None: ...


class NoDuplicates:
    async def find(self, melding: Melding) -> DuplicateMatch | None:
        return None
