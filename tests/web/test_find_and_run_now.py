"""The header's search box opens a job by any id a person has (DESIGN §1: the full id, the
short id, a unique prefix or suffix of 6+ hex digits), lists the candidates of an
ambiguous one; Run now makes a scheduled job due at once, and says why when it cannot."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.web.conftest import log_in
from tests.web.reading import expected_trail, job_fields, page_text, short, trail_rows
from tests.web.server import Server


def held_queue() -> str:
    return f"held-{uuid.uuid4().hex[:8]}"


def find(page: Page, text: str) -> None:
    box = page.get_by_label("find job by id")
    box.fill(text)
    box.press("Enter")


def test_the_search_box_opens_a_job_by_full_id_short_id_prefix_or_suffix(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("noop", "found", queue=held_queue())
    digits = job_id.replace("-", "")
    for text in (job_id, short(job_id), digits[-6:], job_id.upper()):
        dashboard.goto(f"{server.url}#/queues")
        find(dashboard, text)
        expect(dashboard).to_have_url(re.compile(f"#/jobs/{job_id}$"))  # the full id, resolved
        expect(dashboard.locator(".job-head h1")).to_have_text(f"Job {short(job_id)} queued")
        assert job_fields(dashboard)["id"] == job_id


def test_an_ambiguous_id_lists_the_candidates_as_links(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    ids = [server.enqueue("noop", n, queue=queue) for n in range(2)]
    prefix = ids[0][:8]  # UUIDv7: the first digits are the time, shared by both
    assert ids[1].startswith(prefix)
    answer = server.api.get(f"/jobs/{prefix}")
    assert answer.status_code == 409 and answer.json()["error"] == "AmbiguousId", answer.text
    find(dashboard, prefix)
    box = dashboard.locator(".ambiguous")
    expect(box).to_contain_text(f"“{prefix}” matches")
    for job_id in ids:
        expect(box.get_by_role("link", name=short(job_id))).to_be_visible()
        expect(box.locator("li", has_text=short(job_id))).to_contain_text(
            f"{short(job_id)} noop queued created")
    page_text(dashboard)
    box.get_by_role("link", name=short(ids[1])).click()
    expect(dashboard).to_have_url(re.compile(f"#/jobs/{ids[1]}$"))
    assert job_fields(dashboard)["id"] == ids[1]


def test_an_unknown_or_malformed_id_says_so(dashboard: Page, server: Server) -> None:
    missing = uuid.uuid4().hex[-12:]
    assert server.api.get(f"/jobs/{missing}").status_code == 404
    find(dashboard, missing)
    expect(dashboard.locator(".job-head")).to_contain_text(f"No job matches “{missing}”.")
    page_text(dashboard)

    answer = server.api.get("/jobs/abc")  # too short to be any id a person gives
    assert answer.status_code in (404, 422), answer.text
    find(dashboard, "abc")
    expected = "No job matches “abc”." if answer.status_code == 404 else answer.json()["message"]
    expect(dashboard.locator(".job-head")).to_contain_text(expected)
    page_text(dashboard)


def test_run_now_makes_a_scheduled_job_due_at_once_from_its_page(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("noop", "soon", delay=3600)
    dashboard.goto(f"{server.url}#/jobs/{job_id}")
    expect(dashboard.locator(".job-head .status")).to_have_text("scheduled")
    fields = job_fields(dashboard)
    assert fields["status"] == "scheduled" and fields["run at"]
    dashboard.locator(".job-head").get_by_role("button", name="Run now").click()
    expect(dashboard.locator(".job-head .status")).to_have_text("completed")
    assert server.job(job_id)["status"] == "completed"
    trail = server.api.get(f"/jobs/{job_id}/events").json()
    expect(dashboard.locator("table.trail tbody tr")).to_have_count(len(trail))
    assert trail_rows(dashboard) == expected_trail(dashboard, trail)
    assert trail[1]["from_status"] == "scheduled" and trail[1]["to_status"] == "queued"
    page_text(dashboard)


def test_run_now_from_the_jobs_table(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    job_id = server.enqueue("noop", "soon", queue=queue, delay=3600)
    dashboard.goto(f"{server.url}#/jobs?queue={queue}")
    row = dashboard.locator(f"tr[data-job-id='{job_id}']")
    expect(row.locator(".status")).to_have_text("scheduled")
    row.get_by_role("button", name="Run now").click()
    expect(row.locator(".status")).to_have_text("queued")  # no worker serves the queue
    expect(row.get_by_role("button", name="Run now")).to_have_count(0)
    assert server.job(job_id)["status"] == "queued"


def test_run_now_refused_shows_the_servers_reason(page: Page, server: Server) -> None:
    """A page that still shows a job as scheduled (the feed down, refetches answered from
    what the page first saw) while it was cancelled meanwhile: Run now is refused with 409
    JobNotScheduled, and the page says so."""
    job_id = server.enqueue("noop", "stale", queue=held_queue(), delay=3600)
    seen: dict[str, Any] = {}

    def stale_job(route: Route) -> None:
        if route.request.method != "GET":
            route.fallback()
        elif seen:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(seen))
        else:
            answer = route.fetch()
            if answer.status == 200:
                seen.update(answer.json())
            route.fulfill(response=answer)

    page.route("**/api/v1/events/stream", lambda route: route.fulfill(
        status=404, json={"error": "NotFound", "message": "Not Found"}))
    page.route(f"**/api/v1/jobs/{job_id}", stale_job)
    page.goto(f"{server.url}#/jobs/{job_id}")
    page.reload()  # a fresh page under the routes
    log_in(page)
    expect(page.locator(".job-head .status")).to_have_text("scheduled")

    assert server.api.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    refused = server.api.post(f"/jobs/{job_id}/run-now")
    assert refused.status_code == 409 and refused.json()["error"] == "JobNotScheduled"
    page.locator(".job-head").get_by_role("button", name="Run now").click()
    expect(page.get_by_role("alert")).to_contain_text(refused.json()["message"])
    assert server.job(job_id)["status"] == "cancelled"
