"""The shipped duplicate detection as the dedupe tests use it: the deduper of the repository's
config and register, and a text's problem kinds as the worker reads them."""

from __future__ import annotations

from gateway.classify.rules import normalize_text
from gateway.config import Settings
from gateway.dedupe import kinds
from gateway.dedupe.finder import Deduper, load_deduper
from tests.support.data import ROOT


def shipped_deduper() -> Deduper:
    return load_deduper(
        Settings(dedupe_file=ROOT / "config/dedupe.toml", street_register_file=ROOT / "config/streets.csv")
    )


def kinds_of(dienst: str, text: str) -> frozenset[str]:
    return kinds.detect(dienst, normalize_text(text))
