"""The dashboard mounted in a host app (``corral.contrib.fastapi``, the StockDigest
example served by uvicorn) in a real Chromium: under ``/ops/jobs``, behind the host's login
(its ``session`` cookie, as a browser sends it), never asking for corral's token, live, and
a cancel from it names the host's user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.contrib.host import ALICE_EMAIL, PREFIX, Host, serve_host
from tests.web.reading import job_fields, page_text, short


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    folder = tmp_path_factory.mktemp("mounted")
    with serve_host(f"sqlite:///{folder / 'corral.db'}", folder) as running:
        yield running


def logged_in_page(browser: Browser, host: Host, key: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "session", "value": key, "url": host.url}])
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text)
              if "Content Security Policy" in message.text else None)
    yield opened
    context.close()
    assert errors == []


@pytest.fixture
def page(browser: Browser, host: Host) -> Iterator[Page]:
    """A tab of Alice, an admin of the host app."""
    yield from logged_in_page(browser, host, "alice-key")


def test_the_mounted_dashboard_lists_jobs_live_and_cancels_one_as_the_host_s_user(
        page: Page, host: Host) -> None:
    page.goto(f"{host.url}{PREFIX}")  # no slash: the host sends the browser under it
    expect(page.locator("#live")).to_have_text("● live")
    expect(page.locator("#token-button")).to_be_hidden()
    job_id = host.digests("ACME", days=365, step=0.2)["job_ids"][0]  # type: ignore[index]
    job_row = page.locator(f"tr[data-job-id='{job_id}']")
    expect(job_row.locator(".status")).to_have_text("running")  # arrived by the live feed
    assert page.url == f"{host.url}{PREFIX}/"

    page.goto(f"{host.url}{PREFIX}/#/jobs/{job_id}")
    expect(page.locator(".job-head h1")).to_have_text(f"Job {short(job_id)} running")
    page.locator(".job-head").get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.locator("#confirm-dialog")
    dialog.get_by_label("Reason").fill("wrong ticker")
    dialog.get_by_label("Reason").press("Enter")
    expect(page.locator(".job-head .status")).to_have_text("cancelled")
    expect(page.locator("dd[data-field='cancelled by']")).to_have_text(ALICE_EMAIL)
    assert job_fields(page)["cancel reason"] == "wrong ticker"
    assert host.job(job_id)["cancelled_by"] == ALICE_EMAIL
    expect(page.locator("#token-dialog")).to_be_hidden()
    page_text(page)


def test_a_user_the_host_refuses_sees_its_refusal_not_a_token_dialog(
        browser: Browser, host: Host) -> None:
    for bob in logged_in_page(browser, host, "bob-key"):
        answer = bob.goto(f"{host.url}{PREFIX}/")
        assert answer is not None and answer.status == 403
        assert "admins only" in page_text(bob)
        expect(bob.locator("#token-dialog")).to_have_count(0)
