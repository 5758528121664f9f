"""The README's picture of the dashboard: ``python -m tests.web.screenshot docs/dashboard.png
[job.png]`` starts a server with example jobs (a batch of tickers mid-run, one failed, one
cancelled, some done, some waiting) and photographs the jobs page in headless Chromium,
and, given a second path, the page of the cancelled job (its fields, who cancelled it and
why, the audit trail)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.waiting import wait_until
from tests.web.server import ADMIN_TOKEN, CHROMIUM, CHROMIUM_ARGS, Server, serve

TICKERS = {"RY.TO": 0.06, "TD.TO": 0.09, "SHOP.TO": 0.12, "ENB.TO": 0.15}


def example_jobs(server: Server) -> str:
    """Makes the example jobs; returns the id of the cancelled one."""
    for n in range(3):
        server.wait_status(server.enqueue("noop", n), "completed")
    server.wait_status(server.enqueue("boom", "upstream answered 503"), "failed")
    stopped = server.enqueue("ticker", "BNS.TO", kwargs={"steps": 200, "step": 0.02})
    wait_until(lambda: server.job(stopped)["progress"]["current"] > 60, timeout=30,
               message="the ticker to get going")
    server.api.post(f"/jobs/{stopped}/cancel", json={"reason": "wrong ticker"})
    server.enqueue("noop", "later", delay=3600)
    for name in ("acme", "globex"):
        server.enqueue("noop", name, queue="reports")
    answer = server.api.post("/batches", json={"name": "daily-tickers", "jobs": [
        {"task": "ticker", "args": [name], "kwargs": {"steps": 100, "step": step}}
        for name, step in TICKERS.items()]})
    assert answer.status_code == 201, answer.text
    ids = answer.json()["job_ids"]
    wait_until(lambda: all(server.job(i)["progress"]["current"] >= 25 for i in ids),
               timeout=60, message="the batch to be under way")
    return stopped


def main(target: Path, job_target: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder)) as server:
        cancelled = example_jobs(server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 640})
            page.goto(server.url)
            page.locator("#token-dialog").get_by_label("API token").fill(ADMIN_TOKEN)
            page.get_by_role("button", name="Save").click()
            expect(page.locator("tbody tr[data-job-id]")).to_have_count(12)
            expect(page.locator("#live")).to_have_attribute("data-state", "live")
            page.mouse.move(0, 0)  # no row hover in the picture
            page.screenshot(path=str(target))
            if job_target:
                page.set_viewport_size({"width": 1360, "height": 1000})
                page.goto(f"{server.url}#/jobs/{cancelled}")
                expect(page.locator("dd[data-field='cancel reason']")).to_have_text("wrong ticker")
                page.mouse.move(0, 0)
                page.screenshot(path=str(job_target), full_page=True)
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else None)
