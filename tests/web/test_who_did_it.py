"""Who did what, as the job page shows it: the audit trail names the caller of each HTTP
action (DESIGN §8), never the server process; the page shows exactly what
``GET /jobs/{id}/events`` records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.web.reading import expected_trail, job_fields, page_text, short, trail_rows
from tests.web.server import Server, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No token at all: the server answers on loopback only and asks nobody for one."""
    with serve(tmp_path_factory.mktemp("web-anonymous"), tokens=False) as running:
        yield running


def test_a_cancel_from_the_job_page_is_recorded_with_the_callers_address_and_reason(
        page: Page, server: Server) -> None:
    job_id = server.enqueue("spin", 60)
    server.wait_status(job_id, "running")
    page.goto(f"{server.url}#/jobs/{job_id}")
    expect(page.locator(".job-head h1")).to_have_text(f"Job {short(job_id)} running")
    expect(page.locator("#token-dialog")).to_be_hidden()

    page.locator(".job-head").get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.locator("#confirm-dialog")
    dialog.get_by_label("Reason").fill("duplicate run")
    dialog.get_by_label("Reason").press("Enter")  # Enter means OK, not Back
    expect(page.locator(".job-head .status")).to_have_text("cancelled")
    job = server.wait_status(job_id, "cancelled")

    actor = "http:anonymous@127.0.0.1"
    assert job["cancelled_by"] == actor and job["cancel_reason"] == "duplicate run"
    expect(page.locator("dd[data-field='cancelled by']")).to_have_text(actor)
    fields = job_fields(page)
    assert fields["cancel reason"] == "duplicate run"

    trail = server.api.get(f"/jobs/{job_id}/events").json()
    expect(page.locator("table.trail tbody tr")).to_have_count(len(trail))
    shown = trail_rows(page)
    assert shown == expected_trail(page, trail)
    asked = [row for row in shown if row["kind"] == "cancel_requested"]
    assert len(asked) == 1
    assert asked[0]["actor"] == actor and asked[0]["reason"] == "duplicate run"
    assert asked[0]["data"].get("client") == "127.0.0.1"
    page_text(page)
