"""Browser fixtures: Debian's Chromium driven by Playwright (sync API), against the test stack."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


# Module scope, not session: while Playwright's sync API is open its event loop counts as running in
# the main thread, and every later pytest-asyncio test would fail with "Runner.run() cannot be called
# from a running event loop". Closing it at the end of each browser module frees the thread.
@pytest.fixture(scope="module")
def browser() -> Browser:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("The browser tests need Chromium: `make test` installs Debian's package (tools/ensure-chromium).")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Page:
    """A fresh desktop browser context (its own cookies) per test."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Page:
    """A fresh phone-sized context (390 × 844, touch) per test."""
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()
