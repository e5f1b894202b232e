"""Headless Chromium for page tests: Debian's `chromium` driven by Playwright (async API).

Playwright's own browser download cannot run here (no network for it), so the tests launch the
system binary; `.ci/services.sh browser` installs it on a fresh machine. Every page test leaves a
screenshot under `test-artifacts/screenshots/` (the CI keeps that folder as its artifacts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on a closed network;
# as root it needs --no-sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "static" / "axe.min.js"


def screenshot_path(test_name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name) + ".png")


async def new_page(browser: Browser, **context: Any) -> Page:
    """A page in a fresh context (no cookies shared between tests); `context` as Playwright's."""
    ctx = await browser.new_context(**context)
    return await ctx.new_page()


SERIOUS = ("serious", "critical")
WCAG_AA = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']"


async def axe_violations(page: Page, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """Run axe-core (served from the repository, never a CDN) on the page: the violations of
    the given impacts, each as {id, impact, help, targets}."""
    # Evaluated through the DevTools protocol rather than added as an inline <script>: a page whose
    # Content-Security-Policy allows its own scripts only (the citizen form) would refuse that.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        f"async () => JSON.stringify(await axe.run(document, {{runOnly: {WCAG_AA}}}))"
    )
    violations = json.loads(result)["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]],
        }
        for v in violations
        if v["impact"] in impacts
    ]
