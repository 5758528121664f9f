"""corral inside a host FastAPI app (DESIGN §12, issue 17): the StockDigest example
served by a real uvicorn, on both stores. The host's routes, login and lifespan keep
working; corral's routes answer whom the host lets in; the live feed runs under the
prefix; the trail names the host's user; the worker in the host's process runs jobs and
stops with it. What ran is counted from the digest files the jobs write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import corral
from tests.contrib.host import ALICE, ALICE_EMAIL, BOB, PREFIX, Host, serve_host
from tests.http.serving import sse_events


@pytest.fixture
def host(db_url: str, tmp_path: Path) -> Any:
    with serve_host(db_url, tmp_path, CORRAL_SHUTDOWN_GRACE="0.5") as running:
        yield running


def test_the_host_keeps_its_routes_and_its_lifespan_runs_before_corral_s(host: Host) -> None:
    assert httpx.get(f"{host.url}/health").json() == {"ok": True}  # its startup ran
    created = host.digests("ACME")
    job = httpx.get(f"{host.url}/digests/{created['job_ids'][0]}?wait=20",  # type: ignore[index]
                    headers=BOB, timeout=30).json()
    assert job["status"] == "completed" and job["result"]["ticker"] == "ACME"
    assert (host.output / "ACME.json").exists()
    # corral's error bodies stay on corral's routes; the host's 404 is the host's own
    assert httpx.get(f"{host.url}/nowhere").json() == {"detail": "Not Found"}


def test_corral_answers_only_whom_the_host_lets_in(host: Host) -> None:
    nobody = httpx.get(f"{host.api}/jobs")
    assert nobody.status_code == 401
    assert nobody.json() == {"error": "Unauthorized", "message": "log in first"}
    assert nobody.headers["www-authenticate"] == "Bearer"
    for path in ("/jobs", "/stats", "/healthz", "/jobs/cancel"):
        assert httpx.get(f"{host.api}{path}", headers=BOB).status_code == 403, path
    refused = httpx.post(f"{host.api}/jobs/cancel", headers=BOB, json={"status": "queued"})
    assert refused.status_code == 403
    assert httpx.get(f"{host.url}{PREFIX}/", headers=BOB).status_code == 403  # the dashboard
    assert httpx.get(f"{host.url}{PREFIX}/openapi.json", headers=BOB).status_code == 403

    assert httpx.get(f"{host.api}/jobs", headers=ALICE).json()["jobs"] == []
    assert httpx.get(f"{host.api}/healthz", headers=ALICE).json()["status"] == "ok"
    shell = httpx.get(f"{host.url}{PREFIX}/", cookies={"session": "alice-key"})
    assert shell.status_code == 200 and 'data-auth="host"' in shell.text
    moved = httpx.get(f"{host.url}{PREFIX}", headers=ALICE)
    assert moved.status_code == 307 and moved.headers["location"].endswith(f"{PREFIX}/")
    # corral's own rules still hold behind the host's login
    assert httpx.get(f"{host.api}/jobs?dry_rnu=1", headers=ALICE).status_code == 422


def test_the_live_feed_tells_of_a_digest_under_the_prefix(host: Host) -> None:
    created = host.digests("ACME", "INIT", days=20, step=0.05)
    first, second = created["job_ids"]  # type: ignore[misc]
    seen: list[str] = []
    with httpx.stream("GET", f"{host.api}/jobs/{first}/stream", headers=ALICE,
                      timeout=30) as stream:
        assert stream.status_code == 200
        for event, data in sse_events(stream):
            seen.append(event)
            if event == "job_complete":
                assert data["status"] == "completed"
                break
    assert seen[-1] == "job_complete" and "job_update" in seen[:-1]

    now = host.job(second)["status"]
    if now != "completed":  # long-poll: returns when the status moves on
        polled = httpx.get(f"{host.api}/jobs/{second}/poll",
                           params={"current_status": now, "timeout": 25},
                           headers=ALICE, timeout=30).json()
        assert polled["status"] != now
    host.wait_status(second, "completed")
    assert sorted(path.name for path in host.output.iterdir()) == ["ACME.json", "INIT.json"]


def test_a_cancel_names_the_host_s_user_in_the_trail(host: Host) -> None:
    created = host.digests("ACME", days=365, step=0.2)
    job_id = created["job_ids"][0]  # type: ignore[index]
    host.wait_status(job_id, "running")
    answer = httpx.post(f"{host.api}/jobs/{job_id}/cancel", headers=ALICE,
                        json={"reason": "wrong ticker"})
    assert answer.status_code == 200
    job = host.wait_status(job_id, "cancelled")
    assert job["cancelled_by"] == ALICE_EMAIL and job["cancel_reason"] == "wrong ticker"
    trail = httpx.get(f"{host.api}/jobs/{job_id}/events", headers=ALICE).json()
    asked = [event for event in trail if event["kind"] == "cancel_requested"]
    assert [event["actor"] for event in asked] == [ALICE_EMAIL]
    assert asked[0]["data"]["client"] == "127.0.0.1"
    assert not host.output.exists()  # it never wrote its digest


def test_the_host_s_own_batch_cancel_stops_every_digest_of_a_request(host: Host) -> None:
    created = host.digests("ACME", "INIT", "RY.TO", days=365, step=0.2)
    host.wait_status(created["job_ids"][0], "running")  # type: ignore[index]
    answer = httpx.post(f"{host.url}/jobs/batch/{created['batch_id']}/cancel", headers=ALICE)
    assert answer.json()["jobs_cancelled"] == 3
    for job_id in created["job_ids"]:  # type: ignore[attr-defined]
        assert host.wait_status(job_id, "cancelled")["cancelled_by"] == ALICE_EMAIL


def test_the_in_process_worker_stops_with_the_app_and_hands_its_job_back(
        host: Host, db_url: str) -> None:
    created = host.digests("ACME", days=365, step=0.2)
    job_id = created["job_ids"][0]  # type: ignore[index]
    host.wait_status(job_id, "running")
    host.stop()  # within CORRAL_SHUTDOWN_GRACE (0.5 s) + the hand-back wait
    app = corral.Corral(db_url)
    try:
        job = app.get_job(job_id)
        # handed back for the next worker, its attempt not spent
        assert job.status == "queued" and job.attempt_offset == 1, job
        assert [worker.state for worker, _ in app.workers()] == ["stopped"]
        assert not host.output.exists()
    finally:
        app.close()
