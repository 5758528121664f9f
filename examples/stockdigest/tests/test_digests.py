"""StockDigest's tests, written with corral.testing: the task alone (``run``), the
service's routes with every queued job run on demand (``drain``), and a cancel reaching a
running digest (``worker``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from corral.testing import drain, run, worker
from examples.stockdigest.jobs import build_digest, closing_price, jobs
from examples.stockdigest.tests.conftest import ALICE, BOB


def test_a_digest_holds_the_low_high_and_last_price_and_is_written(jobs_store: Path) -> None:
    job = run(build_digest, "ACME", days=3)
    prices = [closing_price("ACME", day) for day in range(3)]
    assert job.status == "completed"
    assert job.result == {"ticker": "ACME", "days": 3, "low": min(prices),
                          "high": max(prices), "last": prices[-1]}
    assert json.loads((jobs_store / "ACME.json").read_text()) == job.result


def test_a_digest_cancelled_midway_keeps_the_prices_read_and_writes_nothing(
        jobs_store: Path) -> None:
    # checkpoints: entering the "prices" phase, then each day's progress: the 4th is day 3
    job = run(build_digest, "ACME", days=5, cancel_at=4)
    assert job.status == "cancelled"
    assert job.result == {"ticker": "ACME",
                          "prices": [closing_price("ACME", day) for day in range(2)]}
    assert not (jobs_store / "ACME.json").exists()


def test_a_request_for_three_tickers_builds_three_digests(
        client: TestClient, jobs_store: Path) -> None:
    answer = client.post("/digests", json={"tickers": ["ACME", "INIT", "RY.TO"], "days": 2},
                         headers=BOB)
    assert answer.status_code == 201
    finished = drain(jobs)
    assert sorted(job.id for job in finished) == sorted(answer.json()["job_ids"])
    assert {job.status for job in finished} == {"completed"}
    assert sorted(path.name for path in jobs_store.iterdir()) == [
        "ACME.json", "INIT.json", "RY.TO.json"]
    one = client.get(f"/digests/{finished[0].id}", headers=BOB).json()
    assert one["status"] == "completed" and one["result"] == finished[0].result


def test_a_bad_request_enqueues_nothing(client: TestClient) -> None:
    answer = client.post("/digests", json={"tickers": ["acme; drop"]}, headers=BOB)
    assert answer.status_code == 422
    assert drain(jobs) == []


def test_an_admin_cancels_a_request_and_is_named_in_the_trail(
        client: TestClient, jobs_store: Path) -> None:
    created = client.post("/digests", json={"tickers": ["ACME", "INIT"], "days": 2},
                          headers=ALICE).json()
    refused = client.post(f"/jobs/batch/{created['batch_id']}/cancel", headers=BOB)
    assert refused.status_code == 403
    answer = client.post(f"/jobs/batch/{created['batch_id']}/cancel", headers=ALICE)
    assert answer.status_code == 200
    assert answer.json()["jobs_cancelled"] == 2
    assert drain(jobs) == []  # nothing left to run
    for job_id in created["job_ids"]:
        job = jobs.get_job(job_id)
        assert job.status == "cancelled"
        assert job.cancelled_by == "alice@stockdigest.example"
    assert not jobs_store.exists()  # no digest was written


def test_a_running_digest_stops_at_its_next_day_when_its_request_is_cancelled(
        client: TestClient, jobs_store: Path) -> None:
    created = client.post("/digests", json={"tickers": ["ACME"], "days": 100, "step": 0.05},
                          headers=ALICE).json()
    job_id = created["job_ids"][0]
    with worker(jobs, queues=["digests"]):
        handle = jobs.job(job_id)
        deadline = time.monotonic() + 30
        while not (handle.refresh().result or {}).get("prices"):  # a day was read
            assert time.monotonic() < deadline, handle.job
            time.sleep(0.01)
        client.post(f"/jobs/batch/{created['batch_id']}/cancel", headers=ALICE)
        job = handle.wait(timeout=30)
    assert job.status == "cancelled"
    assert 0 < len(job.result["prices"]) < 100
    assert not (jobs_store / "ACME.json").exists()


def test_corral_s_dashboard_and_api_are_for_admins_only(client: TestClient) -> None:
    assert client.get("/ops/jobs/api/v1/jobs").status_code == 401
    assert client.get("/ops/jobs/api/v1/jobs", headers=BOB).status_code == 403
    assert client.get("/ops/jobs/", headers=BOB).status_code == 403
    assert client.get("/ops/jobs/api/v1/jobs", headers=ALICE).json()["jobs"] == []
    client.cookies.set("session", "alice-key")  # a browser's login
    page = client.get("/ops/jobs/")
    assert page.status_code == 200 and 'data-auth="host"' in page.text
