"""Run now (issue 15 item 8, DESIGN §6): a scheduled job (delayed, cron, retry backoff)
becomes due at once and a live worker starts it within a second; any other state is a
409 ``JobNotScheduled`` / exit 4 that changes nothing; an unknown id is a 404 / exit 3.
Through the Python API, HTTP and the console script, on both stores."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

import corral
from corral import errors, ids
from corral.http import create_app
from corral.job import JobError
from corral.outcome import Outcome
from corral.status import JobStatus
from tests.cli.conftest import Run, one_error_line
from tests.factories import WORKER, make_job
from tests.waiting import wait_until

S = JobStatus
StartWorker = Callable[..., subprocess.Popen[bytes]]
LATER = timedelta(hours=1)


@pytest.fixture
def client(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def started_within(app: corral.Corral, job_id: str, asked: datetime, seconds: float) -> float:
    """How long after ``asked`` the job was started by a worker (asserting it was)."""
    job = wait_until(lambda: app.get_job(job_id).started_at and app.get_job(job_id),
                     timeout=10, message="a worker to start the job")
    took = (job.started_at - asked).total_seconds()
    assert took < seconds, f"started {took:.2f}s after run-now"
    return took


def in_backoff(app: corral.Corral) -> str:
    """A job that failed once and waits an hour for its retry (made before any worker
    runs, so none takes it meanwhile)."""
    job = make_job(app.store, S.RUNNING, task="noop", max_attempts=3)
    app.store.finish_jobs([Outcome.retry(job.id, WORKER, 1, JobError("E", "first try"),
                                         at=datetime.now(UTC) + LATER)])
    assert app.get_job(job.id).status == S.SCHEDULED
    return job.id


def test_run_now_starts_a_delayed_job_at_once_from_python(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
) -> None:
    start_worker()
    handle = tasks.noop.s(7).set(delay="1h").enqueue()
    time.sleep(0.3)  # the worker has polled and gone idle
    asked = datetime.now(UTC)
    job = handle.run_now(actor="alice")
    assert job.status in (S.QUEUED, S.RUNNING, S.COMPLETED)  # a worker may be quick
    assert job.run_at <= datetime.now(UTC)
    started_within(app, handle.id, asked, 1.0)
    assert handle.wait(timeout=10).result == 7
    event = next(e for e in handle.events() if e.kind == "run_now")
    assert (event.actor, event.from_status, event.to_status) == ("alice", S.SCHEDULED,
                                                                 S.QUEUED)


def test_run_now_over_http_starts_a_job_in_retry_backoff(
    app: corral.Corral, client: TestClient, start_worker: StartWorker,
) -> None:
    job_id = in_backoff(app)
    start_worker()
    time.sleep(0.3)
    asked = datetime.now(UTC)
    response = client.post(f"/api/v1/jobs/{job_id}/run-now")
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("queued", "running", "completed")
    started_within(app, job_id, asked, 1.0)
    done = app.job(job_id).wait(timeout=10)
    assert done.status == S.COMPLETED and done.attempt == 2
    assert [e.kind for e in app.job_events(job_id)].count("run_now") == 1


@pytest.mark.parametrize("status", [S.QUEUED, S.RUNNING, S.COMPLETED, S.CANCELLED])
def test_run_now_of_a_job_that_is_not_scheduled_is_a_conflict_and_changes_nothing(
    app: corral.Corral, client: TestClient, corral_cli: Run, status: JobStatus,
) -> None:
    """Before: there was no run-now at all (404 route, no command, no method)."""
    job = make_job(app.store, status, task="noop")
    trail = app.job_events(job.id)
    with pytest.raises(errors.JobNotScheduled) as refused:
        app.run_now(job.id)
    assert (refused.value.job_id, refused.value.status) == (job.id, str(status))
    response = client.post(f"/api/v1/jobs/{job.id}/run-now")
    assert response.status_code == 409, response.text
    assert response.json() | {"message": ""} == {
        "error": "JobNotScheduled", "message": "", "job_id": job.id, "status": str(status)}
    result = corral_cli("run-now", job.id)
    assert result.returncode == 4
    assert "only a scheduled job can run now" in one_error_line(result)
    assert app.get_job(job.id) == job and app.job_events(job.id) == trail


def test_run_now_of_an_unknown_job_is_not_found(
    app: corral.Corral, client: TestClient, corral_cli: Run,
) -> None:
    missing = "0190a5b2-0000-7000-8000-000000000000"
    with pytest.raises(errors.JobNotFound):
        app.run_now(missing)
    response = client.post(f"/api/v1/jobs/{missing}/run-now")
    assert response.status_code == 404 and response.json()["error"] == "JobNotFound"
    assert corral_cli("run-now", missing).returncode == 3


def test_corral_run_now_takes_a_short_id_and_records_who(
    app: corral.Corral, tasks: SimpleNamespace, corral_cli: Run,
) -> None:
    handle = tasks.noop.s(1).set(delay="1h").enqueue()
    result = corral_cli("run-now", ids.short(handle.id), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "queued"
    assert handle.refresh().status == S.QUEUED
    event = app.job_events(handle.id)[-1]
    assert event.kind == "run_now" and event.actor and "@" in event.actor
    text = corral_cli("run-now", handle.id)
    assert text.returncode == 4 and "is queued" in one_error_line(text)


def test_run_now_over_http_names_the_token_and_the_person_in_the_trail(
    app: corral.Corral, tasks: SimpleNamespace,
) -> None:
    handle = tasks.noop.s(1).set(delay="1h").enqueue()
    with TestClient(create_app(app, admin_token="s3cret")) as client:
        refused = client.post(f"/api/v1/jobs/{handle.id}/run-now")
        assert refused.status_code == 401 and handle.refresh().status == S.SCHEDULED
        response = client.post(f"/api/v1/jobs/{handle.id}/run-now",
                               headers={"Authorization": "Bearer s3cret",
                                        "X-Corral-Actor": "alice"})
    assert response.status_code == 200, response.text
    event = app.job_events(handle.id)[-1]
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        "run_now", "alice via http:admin", S.SCHEDULED, S.QUEUED)
