"""Duplicate detection hook: called by the worker after routing.

The finder that links reports of one real-world problem arrives with its own
issue; until then `NoDuplicates` keeps every melding on its own.
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


class DuplicateFinder(Protocol):
    async def find(self, melding: Melding) -> DuplicateMatch | None: ...


class NoDuplicates:
    async def find(self, melding: Melding) -> DuplicateMatch | None:
        return None
