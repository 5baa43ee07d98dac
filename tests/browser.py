"""Debian's Chromium driven by Playwright, for every browser test.

The browser decides every header it sends: no test sets one by hand (a header added by the
test would test something no browser does; the sign-in page once failed that way).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (``scripts/install-system-deps`` installs it)."""
    executable = shutil.which("chromium")
    assert executable is not None, "run scripts/install-system-deps first"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
