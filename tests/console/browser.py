"""Helpers for driving console pages with Playwright under the console's CSP."""

from __future__ import annotations

import time


def wait_for_js(page, expression: str, timeout: float = 30_000) -> None:
    """Polls `expression` in the page until it is truthy; timeout in ms, as Playwright's.

    Playwright's own `wait_for_function` evaluates its predicate with eval inside the page,
    which the console's Content-Security-Policy (no 'unsafe-eval') refuses; `page.evaluate`
    goes through the DevTools protocol, which the CSP does not govern."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout / 1000:.0f} s: {expression}")
        time.sleep(0.1)
