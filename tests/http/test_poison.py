"""No input may poison the store, over HTTP on both stores (issue 14, items 2-4): bad input
is a typed 422 that stores nothing; a job whose row cannot be read back (written here by
hand with SQL) never stalls its claim batch, never fails a page, never closes the live
feed, is listed as failed/CorruptJob and can be deleted. What ran is counted from the
files the tasks write, not from corral's statuses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import corral
from corral.http import create_app
from corral.store import codec
from tests import corrupt
from tests.http.serving import serving
from tests.http.test_live import collect
from tests.waiting import wait_until

DEEP = "[" * (codec.MAX_JSON_DEPTH + 1) + "1" + "]" * (codec.MAX_JSON_DEPTH + 1)
BAD_JOBS = {  # raw JSON text: what a client can really send
    "run_at before year 1 in UTC": '{"task": "noop", "run_at": "0001-01-01T00:00+14:00"}',
    "run_at after year 9999 in UTC": '{"task": "noop", "run_at": "9999-12-31T23:00-05:00"}',
    "lone surrogate": '{"task": "noop", "args": ["\\ud800"]}',
    "lone surrogate in a meta key": '{"task": "noop", "meta": {"\\udcff": 1}}',
    "nesting past the limit": '{"task": "noop", "args": [' + DEEP + "]}",
    "nesting 300 levels": '{"task": "noop", "args": [' + "[" * 300 + "]" * 300 + "]}",
    "NUL in unique_key": '{"task": "noop", "unique_key": "a\\u0000b"}',
    "NUL in args": '{"task": "noop", "args": ["a\\u0000b"]}',
    "NaN": '{"task": "noop", "args": [NaN]}',
    "1e400": '{"task": "noop", "kwargs": {"value": 1e400}}',
}


@pytest.fixture
def api(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[str]:
    with serving(create_app(app)) as base:
        yield base


def post(url: str, text: str) -> httpx.Response:
    return httpx.post(url, content=text, headers={"content-type": "application/json"})


def assert_invalid(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] in ("InvalidArguments", "ConfigError", "ValidationError"), body
    assert body["message"], body


def test_bad_input_is_a_typed_422_and_stores_nothing(api: str, app: corral.Corral,
                                                     db_url: str) -> None:
    for name, body in BAD_JOBS.items():
        response = post(f"{api}/jobs", body)
        assert response.status_code == 422, (name, response.text)
        assert response.json()["error"] == "InvalidArguments", (name, response.text)
        assert response.json()["message"]
        assert_invalid(post(f"{api}/batches", '{"jobs": [{"task": "noop"}, ' + body + "]}"))
    assert corrupt.count_rows(db_url) == 0
    assert_invalid(httpx.post(f"{api}/jobs/reset-stuck", params={"older_than": "3000000d"}))
    for path in ("cancel", "delete", "restart"):
        assert_invalid(post(f"{api}/jobs/{path}", '{"older_than": "3000000d"}'))
        assert_invalid(post(f"{api}/jobs/{path}", '{"ids": ["\\ud800"]}'))
        assert_invalid(post(f"{api}/jobs/{path}", '{"queue": "a\\u0000"}'))
    job = app.get_task("noop").enqueue()
    assert_invalid(post(f"{api}/jobs/{job.id}/cancel", '{"reason": "\\ud800"}'))
    assert app.get_job(job.id).status == "queued" and app.get_job(job.id).cancel_reason is None
    assert corrupt.count_rows(db_url) == 1


def executed(marks: Path) -> list[str]:
    log = marks / "executions.log"
    return log.read_text().split() if log.exists() else []


def test_a_corrupt_job_never_stalls_its_batch_fails_a_page_or_closes_the_feed(
        api: str, app: corral.Corral, tasks: SimpleNamespace, db_url: str, marks: Path,
        start_worker: Callable[..., Any]) -> None:
    events: list[tuple[str, Any]] = []

    def read_feed() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server closes it at teardown
            collect(f"{api}/events/stream", into=events)

    feed = threading.Thread(target=read_feed, daemon=True)
    feed.start()
    wait_until(lambda: events and events[0][0] == "ready", message="the feed to be ready")
    jobs = [tasks.record.enqueue(i) for i in range(6)]
    bad = {jobs[1].id: "run_at", jobs[4].id: "surrogate"}  # one claim takes all six
    for job_id, kind in bad.items():
        corrupt.corrupt(db_url, job_id, kind)
    good = [job.id for job in jobs if job.id not in bad]

    start_worker(concurrency=8)

    wait_until(lambda: sorted(executed(marks)) == sorted(good), timeout=60,
               message="the four good jobs of the batch to run")
    wait_until(lambda: all(app.get_job(j).status == "completed" for j in good),
               message="the good jobs to complete")
    listed = httpx.get(f"{api}/jobs", params={"limit": 50})
    assert listed.status_code == 200, listed.text
    by_id = {job["id"]: job for job in listed.json()["jobs"]}
    for job_id in bad:
        assert by_id[job_id]["status"] == "failed"
        assert by_id[job_id]["error"]["type"] == "CorruptJob"
        one = httpx.get(f"{api}/jobs/{job_id}")
        assert one.status_code == 200 and one.json()["error"]["type"] == "CorruptJob"
        assert httpx.get(f"{api}/jobs/{job_id}/events").status_code == 200
    for page in ("workers", "stats", "queues", "batches"):
        assert httpx.get(f"{api}/{page}").status_code == 200, page
    assert feed.is_alive(), f"the feed closed: {events[-3:]}"
    wait_until(lambda: {i for k, d in events if k == "job_update" and d["status"] == "failed"
                        for i in [d["id"]]} >= set(bad),
               message="the feed to show the quarantined jobs as failed")

    for job_id in bad:
        assert httpx.delete(f"{api}/jobs/{job_id}").status_code == 204
    later = tasks.noop.enqueue("after")
    wait_until(lambda: any(d.get("id") == later.id for _, d in events),
               message="the feed to carry a change after the corrupt jobs")
    assert feed.is_alive()
    # one read of the change log sends its updates before its deletions: wait for them too
    wait_until(lambda: {d["id"] for k, d in events if k == "job_deleted"} >= set(bad),
               message="the feed to announce the deleted corrupt jobs")
    assert sorted(executed(marks)) == sorted(good)  # the corrupt ones never ran
    assert httpx.get(f"{api}/jobs").status_code == 200
