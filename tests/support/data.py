"""Paths and small payloads the tests read: the project root, the public corpora, a valid melding."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Public corpora copied into the project (tests/corpora/README.md): a clone runs its tests alone.
CORPORA = ROOT / "tests" / "corpora"
