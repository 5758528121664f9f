"""The dashboard in a real headless Chromium against a real ``corral serve --with-worker``:
what a user sees and what the buttons really do to the jobs."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, Request, expect

from tests.waiting import wait_until
from tests.web.conftest import log_in
from tests.web.server import ADMIN_TOKEN, READ_TOKEN, Server


def row(page: Page, job_id: str) -> Locator:
    return page.locator(f"tr[data-job-id='{job_id}']")


def ratio(bar: Locator) -> float:
    return float(bar.get_attribute("aria-valuenow") or 0)


def confirm(page: Page, button: str) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_be_hidden()


def held_queue() -> str:
    """A queue no worker serves: its jobs stay queued until the test acts on them."""
    return f"held-{uuid.uuid4().hex[:8]}"


def test_a_running_jobs_bar_moves_then_it_is_cancelled_and_restarted_from_the_ui(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("ticker", "RY.TO", kwargs={"steps": 400, "step": 0.05})
    job_row = row(dashboard, job_id)
    expect(job_row.locator(".status")).to_have_text("running")
    bar = job_row.get_by_role("progressbar")
    first = wait_until(lambda: ratio(bar), timeout=20, message="the bar to start")
    wait_until(lambda: ratio(bar) > first, timeout=20, message="the bar to move")
    expect(job_row.locator(".phase")).to_have_text("ingest")

    job_row.get_by_role("button", name="Cancel", exact=True).click()
    expect(job_row.locator(".status")).to_have_text("cancelled")
    cancelled = server.job(job_id)
    assert cancelled["status"] == "cancelled" and cancelled["phase"] == "ingest"
    assert 0 < cancelled["progress"]["current"] < 400  # stopped mid-way, progress kept

    job_row.get_by_role("button", name="Restart").click()
    expect(job_row.locator(".status")).to_have_text(re.compile("queued|running"))
    server.wait_status(job_id, "running")
    expect(job_row.locator(".status")).to_have_text("running")
    server.api.post(f"/jobs/{job_id}/cancel", json={"reason": "test over"})


def test_the_token_is_asked_once_kept_in_the_session_and_never_put_in_a_url(
        page: Page, server: Server) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    log_in(page)
    job_id = server.enqueue("noop", 1)
    expect(row(page, job_id)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('corral.token')") == ADMIN_TOKEN
    assert page.evaluate("localStorage.length") == 0

    page.reload()
    expect(row(page, job_id)).to_be_visible()
    expect(page.locator("#token-dialog")).to_be_hidden()  # not asked again in this tab
    api_calls = [r for r in requests if "/api/v1/" in r.url]
    assert api_calls and all(ADMIN_TOKEN not in r.url for r in requests)
    assert all(r.headers.get("authorization") == f"Bearer {ADMIN_TOKEN}"
               for r in api_calls if "/healthz" not in r.url)


def test_force_cancel_asks_for_confirmation_first(dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("spin", 60)
    job_row = row(dashboard, job_id)
    expect(job_row.locator(".status")).to_have_text("running")

    job_row.get_by_role("button", name="Force cancel").click()
    confirm(dashboard, "Back")
    assert server.job(job_id)["status"] == "running"

    job_row.get_by_role("button", name="Force cancel").click()
    confirm(dashboard, "Force cancel")
    expect(job_row.locator(".status")).to_have_text("cancelled")
    assert server.job(job_id)["status"] == "cancelled"


def test_the_job_page_shows_the_error_with_its_traceback_and_the_audit_trail(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("boom", "kaput")
    server.wait_status(job_id, "failed")
    row(dashboard, job_id).get_by_role("link", name=job_id[-12:]).click()
    expect(dashboard).to_have_url(re.compile(f"#/jobs/{job_id}$"))
    expect(dashboard.locator("section.error")).to_contain_text("ValueError: kaput")
    expect(dashboard.locator("pre.traceback")).to_contain_text("Traceback")
    trail = dashboard.locator("table.trail tbody tr")
    expect(trail).to_have_count(3)
    expect(trail.nth(2)).to_contain_text("running → failed")

    dashboard.get_by_role("button", name="Delete").click()
    confirm(dashboard, "Delete")
    expect(dashboard.get_by_text("This job was deleted.")).to_be_visible()
    assert server.api.get(f"/jobs/{job_id}").status_code == 404


def test_selected_jobs_are_cancelled_in_bulk(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    ids = [server.enqueue("noop", n, queue=queue) for n in range(3)]
    dashboard.get_by_label("queue", exact=True).fill(queue)
    expect(dashboard).to_have_url(re.compile(f"queue={queue}"))  # the token never is
    for job_id in ids:
        expect(row(dashboard, job_id)).to_be_visible()
    expect(dashboard.locator("tbody tr[data-job-id]")).to_have_count(3)
    dashboard.get_by_label("select page").check()
    expect(dashboard.get_by_text("3 selected")).to_be_visible()

    dashboard.get_by_role("button", name="Cancel selected").click()
    confirm(dashboard, "Cancel")
    for job_id in ids:
        expect(row(dashboard, job_id).locator(".status")).to_have_text("cancelled")
    assert {server.job(job_id)["status"] for job_id in ids} == {"cancelled"}


def test_pages_of_jobs_newest_first(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    ids = [server.enqueue("noop", n, queue=queue) for n in range(30)]
    dashboard.goto(f"{server.url}#/jobs?queue={queue}&limit=25")  # filters live in the URL
    expect(dashboard.get_by_label("page size")).to_have_value("25")
    expect(dashboard.get_by_label("queue", exact=True)).to_have_value(queue)
    rows = dashboard.locator("tbody tr[data-job-id]")
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_attribute("data-job-id", ids[-1])  # newest first

    dashboard.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(5)
    expect(rows.last).to_have_attribute("data-job-id", ids[0])
    dashboard.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(25)


def test_a_queue_is_paused_and_resumed_from_the_queues_page(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()
    server.enqueue("noop", queue=queue)
    dashboard.get_by_role("link", name="Queues", exact=True).click()
    queue_row = dashboard.locator(f"tr[data-queue='{queue}']")
    expect(queue_row).to_contain_text("1")

    queue_row.get_by_role("button", name="Pause").click()
    expect(queue_row).to_have_attribute("data-paused", "true")
    assert [q for q in server.api.get("/queues").json() if q["name"] == queue][0]["paused"]

    queue_row.get_by_role("button", name="Resume").click()
    expect(queue_row).to_have_attribute("data-paused", "false")


def test_a_read_only_token_is_asked_to_change_and_the_refusal_is_shown(
        page: Page, server: Server) -> None:
    job_id = server.enqueue("noop", queue=held_queue())
    log_in(page, READ_TOKEN)
    row(page, job_id).get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.locator("#token-dialog")
    expect(dialog).to_contain_text("read-only token cannot change anything")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alert")).to_contain_text("read-only token cannot change anything")
    assert server.job(job_id)["status"] == "queued"


def test_a_batch_of_thousands_is_shown_a_page_at_a_time_and_cancelled_from_its_card(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()
    answer = server.api.post("/batches", json={"name": "big", "jobs": [
        {"task": "noop", "args": [n], "queue": queue} for n in range(1500)]})
    assert answer.status_code == 201, answer.text
    batch_id = answer.json()["batch"]["id"]
    dashboard.get_by_role("link", name="Batches", exact=True).click()
    card = dashboard.locator(f".batch[data-batch-id='{batch_id}']")
    expect(card).to_contain_text("0/1500")
    card.get_by_role("link", name=re.compile("^big")).click()
    expect(dashboard.locator("tbody tr[data-job-id]")).to_have_count(50)
    card = dashboard.locator(f".batch[data-batch-id='{batch_id}']")

    card.get_by_role("button", name="Cancel batch").click()
    confirm(dashboard, "Cancel batch")
    expect(card).to_have_attribute("data-state", "cancelled")
    expect(dashboard.locator("tbody tr[data-status='cancelled']")).to_have_count(50)
    counts = server.api.get(f"/batches/{batch_id}").json()["counts"]
    assert counts["cancelled"] == 1500


def test_the_batches_page_lists_batches_newest_first_a_page_at_a_time_and_live(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()

    def make_batch(n: int) -> str:
        answer = server.api.post("/batches", json={"name": f"paged-{n}", "jobs": [
            {"task": "noop", "args": [n], "queue": queue}]})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["batch"]["id"])

    made = [make_batch(n) for n in range(21)]  # a page is 20
    dashboard.get_by_role("link", name="Batches", exact=True).click()
    newest = dashboard.locator(f".batch[data-batch-id='{made[-1]}']")
    oldest = dashboard.locator(f".batch[data-batch-id='{made[0]}']")
    newer = dashboard.get_by_role("button", name="← Newer")
    expect(newest).to_contain_text("paged-20")
    expect(dashboard.locator(".batch")).to_have_count(20)
    expect(oldest).to_have_count(0)
    expect(newer).to_be_disabled()

    server.api.post(f"/batches/{made[-1]}/cancel")
    expect(newest).to_have_attribute("data-state", "cancelled")
    latest = dashboard.locator(f".batch[data-batch-id='{make_batch(21)}']")
    expect(latest).to_contain_text("paged-21")  # a new batch shows up on the first page

    dashboard.get_by_role("button", name="Older →").click()
    expect(oldest).to_contain_text("paged-0")
    expect(newest).to_have_count(0)
    newer.click()
    expect(latest).to_be_visible()
    expect(newer).to_be_disabled()


def test_cancel_all_matching_counts_first_then_cancels_every_page(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()
    ids = [server.enqueue("noop", n, queue=queue) for n in range(30)]
    dashboard.goto(f"{server.url}#/jobs?queue={queue}&status=queued&limit=25")
    expect(dashboard.locator("tbody tr[data-job-id]")).to_have_count(25)
    dashboard.get_by_role("button", name="Cancel all matching…").click()
    expect(dashboard.locator("#confirm-dialog")).to_contain_text("30 jobs matching the filter")
    confirm(dashboard, "Cancel")
    expect(dashboard.get_by_text("No jobs match.")).to_be_visible()  # none queued now
    assert {server.job(job_id)["status"] for job_id in ids} == {"cancelled"}


def test_the_workers_page_shows_the_live_worker_and_the_job_it_holds(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("spin", 60)
    server.wait_status(job_id, "running")
    dashboard.get_by_role("link", name="Workers", exact=True).click()
    worker = dashboard.locator("tr[data-state='running']")
    expect(worker).to_contain_text("alive")
    expect(worker.get_by_role("link", name=job_id[-12:])).to_be_visible()
    server.api.post(f"/jobs/{job_id}/cancel")
    expect(worker.get_by_role("link", name=job_id[-12:])).to_be_hidden()
