"""The dashboard read like a person reads it: every page's text, field by field, checked
against what the HTTP API says; never an ``[object HTMLElement]`` or an ``undefined``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.waiting import wait_until
from tests.web.reading import (
    expected_trail,
    job_fields,
    page_text,
    short,
    shown_time,
    text_of,
    trail_rows,
)
from tests.web.server import REPO, Server


def held_queue() -> str:
    """A queue no worker serves: its jobs stay where the test put them."""
    return f"held-{uuid.uuid4().hex[:8]}"


def open_job(page: Page, server: Server, job_id: str) -> None:
    page.goto(f"{server.url}#/jobs/{job_id}")
    expect(page.locator(".job-head h1")).to_contain_text(short(job_id))


def confirm(page: Page, button: str, reason: str | None = None) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    if reason is not None:
        dialog.get_by_label("Reason").fill(reason)
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_be_hidden()


def events(server: Server, job_id: str) -> list[dict[str, Any]]:
    answer = server.api.get(f"/jobs/{job_id}/events")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_the_job_page_lists_every_field_with_its_value_then_who_cancelled_it_and_why(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("ticker", "RY.TO", kwargs={"steps": 400, "step": 0.05})
    wait_until(lambda: server.job(job_id)["progress"]["current"] >= 2, timeout=30,
               message="the ticker to report progress")
    open_job(dashboard, server, job_id)
    expect(dashboard.locator("dd[data-field='progress']")).to_contain_text("RY.TO: ingest")
    fields = job_fields(dashboard)
    job = server.job(job_id)
    assert fields["id"] == job_id
    assert fields["task"] == "ticker"
    assert fields["status"] == "running"
    assert fields["phase"] == "ingest"
    assert re.fullmatch(r"\d+/400 RY\.TO: ingest \d+", fields["progress"]), fields
    assert fields["queue"] == "default · priority 0"
    assert fields["attempt"] == f"1 of {job['max_attempts']}"
    assert fields["worker"] == job["worker_id"] and job["worker_id"]
    assert fields["created"].startswith(shown_time(dashboard, job["created_at"]))
    assert fields["started"].startswith(shown_time(dashboard, job["started_at"]))
    assert "ago" in fields["heartbeat"]
    assert fields["args"] == '[ "RY.TO" ]'
    assert "finished" not in fields and "cancelled by" not in fields
    bar = dashboard.locator("dd[data-field='progress'] [role=progressbar]")
    assert 0 < float(bar.get_attribute("aria-valuenow") or 0) < 100

    dashboard.locator(".job-head").get_by_role("button", name="Cancel", exact=True).click()
    expect(dashboard.locator("#confirm-dialog")).to_contain_text(
        f"Cancel job {short(job_id)} (ticker)?")
    confirm(dashboard, "Cancel job", reason="wrong ticker")
    expect(dashboard.locator(".job-head .status")).to_have_text("cancelled")
    expect(dashboard.locator("dd[data-field='cancel reason']")).to_have_text("wrong ticker")
    job = server.wait_status(job_id, "cancelled")
    fields = job_fields(dashboard)
    assert fields["status"] == "cancelled"
    assert fields["phase"] == "ingest"  # where it was stopped
    assert fields["cancelled by"] == job["cancelled_by"] and job["cancelled_by"]
    assert fields["cancel reason"] == "wrong ticker" == job["cancel_reason"]
    assert fields["cancel requested"].startswith(shown_time(dashboard, job["cancel_requested_at"]))
    assert fields["finished"].startswith(shown_time(dashboard, job["finished_at"]))
    assert "· ran " in fields["finished"]
    progress = job["progress"]
    assert fields["progress"] == (
        f"{progress['current']:g}/{progress['total']:g} {progress['message']}")

    # the trail says who asked and why, exactly as the API records it
    trail = server.api.get(f"/jobs/{job_id}/events").json()
    expect(dashboard.locator("table.trail tbody tr")).to_have_count(len(trail))
    assert trail_rows(dashboard) == expected_trail(dashboard, trail)
    asked = [event for event in trail if event["reason"] == "wrong ticker"]
    assert asked and asked[0]["actor"] == job["cancelled_by"]
    row = dashboard.locator("table.trail tbody tr").nth(trail.index(asked[0]))
    expect(row.locator(".actor")).to_have_text(job["cancelled_by"])
    expect(row.locator(".reason")).to_have_text("wrong ticker")


def test_a_finished_jobs_page_reads_its_outcome(dashboard: Page, server: Server) -> None:
    done = server.enqueue("noop", {"answer": 42}, meta={"client": "Datadog"})
    failed = server.enqueue("boom", "upstream answered 503")
    server.wait_status(done, "completed")
    server.wait_status(failed, "failed")

    open_job(dashboard, server, done)
    fields = job_fields(dashboard)
    job = server.job(done)
    assert fields["status"] == "completed" and fields["task"] == "noop"
    assert fields["phase"] == "—" and fields["progress"] == "no progress reported"
    assert fields["worker"] in ("—", job["worker_id"])
    assert fields["finished"].startswith(shown_time(dashboard, job["finished_at"]))
    assert '"client": "Datadog"' in fields["meta"]
    expect(dashboard.locator("section.result")).to_contain_text('"answer": 42')

    open_job(dashboard, server, failed)
    fields = job_fields(dashboard)
    assert fields["status"] == "failed" and fields["task"] == "boom"
    assert fields["attempt"] == f"1 of {server.job(failed)['max_attempts']}"
    expect(dashboard.locator("section.error")).to_contain_text("ValueError: upstream answered 503")
    assert trail_rows(dashboard) == expected_trail(dashboard, events(server, failed))


def test_the_jobs_table_shows_short_id_task_status_and_attempts(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()
    waiting = server.enqueue("noop", "x", queue=queue)
    later = server.enqueue("noop", "y", queue=queue, delay=3600)
    dashboard.goto(f"{server.url}#/jobs?queue={queue}")
    rows = dashboard.locator("tbody tr[data-job-id]")
    expect(rows).to_have_count(2)
    for job_id, status in ((waiting, "queued"), (later, "scheduled")):
        row = dashboard.locator(f"tr[data-job-id='{job_id}']")
        cells = [text_of(cell) for cell in row.locator("td").all()]
        assert cells[1] == short(job_id) == job_id[-12:]
        assert cells[2] == "noop" and cells[3] == status and cells[6] == queue
        assert cells[7] == "0/1" or re.fullmatch(r"\d+/\d+", cells[7])
    later_row = dashboard.locator(f"tr[data-job-id='{later}']")
    expect(later_row.get_by_role("button", name="Run now")).to_be_visible()
    expect(dashboard.locator(f"tr[data-job-id='{waiting}']")
           .get_by_role("button", name="Run now")).to_have_count(0)
    page_text(dashboard)


def test_a_batch_card_reads_its_name_counts_and_progress(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    answer = server.api.post("/batches", json={"name": "nightly-report", "jobs": [
        {"task": "noop", "args": [n], "queue": queue} for n in range(3)]})
    assert answer.status_code == 201, answer.text
    batch_id = answer.json()["batch"]["id"]
    dashboard.get_by_role("link", name="Batches", exact=True).click()
    card = dashboard.locator(f".batch[data-batch-id='{batch_id}']")
    expect(card).to_be_visible()
    text = text_of(card)
    assert text.startswith(f"nightly-report {short(batch_id)} queued created ")
    assert "0/3" in text and "queued 3" in text
    page_text(dashboard)

    server.api.post("/jobs/cancel", json={"ids": answer.json()["job_ids"][:1]})
    expect(card).to_contain_text("cancelled 1")
    expect(card).to_contain_text("queued 2")
    expect(card.get_by_role("progressbar")).to_contain_text("1/3")
    page_text(dashboard)


def test_the_queues_page_reads_each_queue_its_counts_limit_and_state(
        dashboard: Page, server: Server) -> None:
    queue = held_queue()
    for n in range(2):
        server.enqueue("noop", n, queue=queue)
    server.enqueue("noop", "later", queue=queue, delay=3600)
    finished = held_queue()  # a queue whose only job is finished is still a queue
    server.api.post(f"/jobs/{server.enqueue('noop', queue=finished)}/cancel")

    dashboard.get_by_role("link", name="Queues", exact=True).click()
    row = dashboard.locator(f"tr[data-queue='{queue}']")
    expect(row).to_be_visible()
    listed = {q["name"]: q for q in server.api.get("/queues").json()}
    cells = [text_of(cell) for cell in row.locator("td").all()]
    assert cells[:4] == [queue, "2", "1", "0"]
    assert cells[5] == "active"
    expect(row.get_by_label(f"limit of {queue}")).to_have_value("")
    for name in listed:  # everything GET /queues lists is on the page
        expect(dashboard.locator(f"tr[data-queue='{name}']")).to_be_visible()
    expect(dashboard.get_by_text("No queues yet.")).to_have_count(0)
    expect(dashboard.locator(f"tr[data-queue='{finished}']")).to_be_visible()

    row.get_by_label(f"limit of {queue}").fill("2")
    row.get_by_role("button", name="Set").click()
    wait_until(lambda: {q["name"]: q for q in server.api.get("/queues").json()}[queue]
               ["concurrency"] == 2, timeout=10, message="the limit to be set")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-paused", "true")
    expect(row.locator("td").nth(5)).to_have_text("paused")
    expect(row.get_by_label(f"limit of {queue}")).to_have_value("2")
    page_text(dashboard)


def test_the_workers_page_reads_the_worker_and_the_jobs_it_holds(
        dashboard: Page, server: Server) -> None:
    job_id = server.enqueue("spin", 60)
    server.wait_status(job_id, "running")
    dashboard.get_by_role("link", name="Workers", exact=True).click()
    worker = server.api.get("/workers").json()
    alive = [w for w in worker if w["state"] == "running"][0]
    row = dashboard.locator(f"tr[data-worker-id='{alive['id']}']")
    expect(row.locator("ul.held")).to_contain_text(short(job_id))
    cells = [text_of(cell) for cell in row.locator("td").all()]
    assert cells[0] == alive["id"]
    assert cells[1] == "alive"
    assert cells[2] == f"{alive['host']} · pid {alive['pid']}"
    assert cells[3] == ", ".join(alive["queues"])
    held = text_of(row.locator("ul.held li", has_text=short(job_id)))
    assert held.startswith(f"{short(job_id)} spin running")
    page_text(dashboard)
    server.api.post(f"/jobs/{job_id}/cancel")
    expect(row.locator("ul.held")).not_to_contain_text(short(job_id))


def test_a_cleanly_stopped_worker_is_counted_stopped_not_dead(
        dashboard: Page, server: Server) -> None:
    worker_id = f"stopping-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "corral", "worker", "--app", "tests.workerapp:app",
         "--db", server.db, "--queues", held_queue(), "--worker-id", worker_id,
         "--log-level", "warning"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_until(lambda: any(w["id"] == worker_id and w["state"] == "running"
                               for w in server.api.get("/workers").json()),
                   timeout=30, message="the extra worker to register")
    finally:
        worker.terminate()  # SIGTERM: a clean stop
        assert worker.wait(timeout=60) == 0
    wait_until(lambda: any(w["id"] == worker_id and w["state"] == "stopped"
                           for w in server.api.get("/workers").json()),
               timeout=30, message="the worker to be stopped")

    stats = wait_until(lambda: (s := server.api.get("/stats").json())["workers"].get("stopped")
                       and s, timeout=10, message="/stats to count the stopped worker")
    header = dashboard.locator("#stats")
    expect(header.locator(".stat-stopped .stat-value")).to_have_text(
        str(stats["workers"]["stopped"]))
    expect(header.locator(".stat-dead .stat-value")).to_have_text(str(stats["workers"]["dead"]))
    expect(header.locator(".stat-alive .stat-value")).to_have_text(str(stats["workers"]["alive"]))
    assert stats["workers"]["dead"] == 0
    expect(header.locator(".stat-dead")).not_to_have_class(re.compile("stat-warn"))
    assert "stopped" in text_of(header)

    dashboard.get_by_role("link", name="Workers", exact=True).click()
    row = dashboard.locator(f"tr[data-worker-id='{worker_id}']")
    expect(row.locator("td").nth(1)).to_have_text("stopped")
    page_text(dashboard)


def test_no_page_shows_an_object_or_a_missing_value(dashboard: Page, server: Server) -> None:
    queue = held_queue()
    ids = [
        server.enqueue("noop", "waiting", queue=queue),
        server.enqueue("noop", "later", queue=queue, delay=3600),
        server.enqueue("boom", "kaput"),
        server.enqueue("ticker", "TD.TO", kwargs={"steps": 3, "step": 0.01}),
        server.enqueue("spin", 60),
    ]
    server.wait_status(ids[2], "failed")
    server.wait_status(ids[3], "completed")
    server.wait_status(ids[4], "running")
    server.api.post(f"/jobs/{ids[4]}/cancel", json={"reason": "enough"})
    server.wait_status(ids[4], "cancelled")
    server.api.post("/batches", json={"name": "mixed", "jobs": [
        {"task": "noop", "args": [n], "queue": queue} for n in range(2)]})

    for section in ("Jobs", "Batches", "Queues", "Workers"):
        dashboard.get_by_role("link", name=section, exact=True).click()
        expect(dashboard.locator("main h1")).to_have_text(section)
        expect(dashboard.locator("main tbody tr, main .card").first).to_be_visible()
        page_text(dashboard)
    for job_id in ids:
        open_job(dashboard, server, job_id)
        job_fields(dashboard)
        expect(dashboard.locator("table.trail tbody tr").first).to_be_visible()
        page_text(dashboard)
    header = text_of(dashboard.locator("#stats"))
    assert re.search(r"\d+ workers alive \d+ stopped \d+ dead", header), header
