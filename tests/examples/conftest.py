"""The examples' browser: Debian's Chromium driven by Playwright, as in tests/browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS, chromium_or_skip


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """A headless Chromium, package-scoped so Playwright's loop closes before asyncio tests."""
    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
