"""The codebase's own rules that import-linter does not see (README, "Where things live")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "workers", "bench", "tests")
MAX_LINES = 600
# Markup in a Python string: pages are Jinja2 templates (autoescape), never assembled in code.
HTML = re.compile(r"<(?:!doctype|html|head|body|p|li|ol|ul|h[1-6]|div|span|table|tr|td|form)[\s>]", re.I)


def _sources() -> list[Path]:
    return sorted(
        p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "migrations" not in p.relative_to(ROOT).parts
    )


def test_the_sources_are_found() -> None:
    assert len(_sources()) > 50


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small_enough_to_read(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"


# The product's code; tests and benchmarks build HTML mail as input on purpose.
@pytest.mark.parametrize(
    "path",
    [p for p in _sources() if p.relative_to(ROOT).parts[0] in ("gateway", "workers")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_html_is_built_in_python(path: Path) -> None:
    found = HTML.findall(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.relative_to(ROOT)} builds HTML ({found[:3]}): use a template in gateway/http/templates"
    )
