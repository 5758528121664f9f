"""Browser fixtures: one server per test module, one headless Chromium for the web tests,
and a fresh browser context (so a fresh sessionStorage) per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web.server import ADMIN_TOKEN, CHROMIUM, CHROMIUM_ARGS, Server, serve

expect.set_options(timeout=20_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """The system Chromium; CI (CORRAL_REQUIRE_BROWSER=1) fails instead of skipping.
    Closed when the web tests are done: Playwright's sync API runs an event loop on the
    main thread while it is open, and Django's ORM refuses to run inside one, so the
    Django tests failed when they ran after these."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CORRAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is required (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A tab on the dashboard, not logged in yet; fails the test on any script error and
    on anything the Content-Security-Policy refused (the browser only says so on the
    console: a refused style or script breaks the page silently)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text)
              if "Content Security Policy" in message.text else None)
    opened.goto(server.url)
    yield opened
    context.close()
    assert errors == []


def log_in(page: Page, token: str = ADMIN_TOKEN) -> None:
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("API token").fill(token)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


@pytest.fixture
def dashboard(page: Page) -> Page:
    """The dashboard, logged in with the admin token."""
    log_in(page)
    return page
