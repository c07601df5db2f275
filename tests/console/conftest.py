"""Browser fixtures for the console tests: Playwright driving Debian's chromium, headless.

Playwright's own browser downloads cannot be reached here, so the tests launch the
system chromium (`apt-get install -y chromium`, which `.ci/run` does) with the flags the
machine notes ask for: no sandbox (root in CI), no background networking (the network is
closed; chromium would otherwise keep trying Google's hosts). Screenshots of every page
a test looks at go to test-artifacts/console/ (git-ignored), to be looked at after a run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="package")
def browser():
    """Chromium for the console tests, stopped after them: Playwright's sync API keeps an event
    loop running in the main thread while it lives, which would break later tests that call
    asyncio.run()."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console(browser, emulator):
    """A fresh browser context on the session emulator: a page plus what it went through."""
    context = browser.new_context(base_url=emulator.endpoint, accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # What the console's Content-Security-Policy refused (a blocked script, style or media).
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete ...?" confirmations
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


@pytest.fixture
def screenshot(request):
    """screenshot(page, label): a full-page PNG in test-artifacts/console/<test>-<label>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)

    def take(page, label: str) -> Path:
        path = ARTIFACTS / f"{test}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
