"""What a worker records: results, errors with tracebacks, retries, sync and async at once."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from corral.worker.worker import Worker
from tests.waiting import wait_until

S = JobStatus


@pytest.fixture
def worker(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[Worker]:
    """An in-process worker on the client app (same tasks, same store file)."""
    running = Worker(app, concurrency=4)
    running.start()
    yield running
    running.stop(wait=False)


def test_error_is_recorded_with_type_message_and_traceback(
    tasks: SimpleNamespace, worker: Worker,
) -> None:
    job = tasks.boom.enqueue("kaput").wait(timeout=10)
    assert job.status == S.FAILED
    assert job.error.type == "ValueError" and job.error.message == "kaput"
    assert "raise ValueError(message)" in job.error.traceback


def test_failed_attempts_are_retried_until_max_attempts(app: corral.Corral,
                                                        worker: Worker) -> None:
    calls = []

    @app.task(name="flaky", max_attempts=2)
    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first time fails")
        return "second time works"

    from corral import retry

    handle = flaky.enqueue()
    job = handle.wait(timeout=retry.BASE_DELAY + 10)
    assert job.status == S.COMPLETED and job.attempt == 2 and job.result == "second time works"
    kinds = [e.kind for e in handle.events()]
    assert kinds == ["enqueued", "claimed", "retry_scheduled", "due", "claimed", "completed"]


def test_retry_on_limits_which_errors_retry(app: corral.Corral, worker: Worker) -> None:
    @app.task(name="picky", max_attempts=5, retry_on=[ConnectionError])
    def picky() -> None:
        raise KeyError("not worth retrying")

    job = picky.enqueue().wait(timeout=10)
    assert job.status == S.FAILED and job.attempt == 1


def test_sync_and_async_tasks_run_side_by_side(
    app: corral.Corral, tasks: SimpleNamespace, worker: Worker,
) -> None:
    handles = app.enqueue_many([tasks.noop.s(i) for i in range(5)]
                               + [tasks.async_sleep.s(0.05) for _ in range(5)])
    jobs = [h.wait(timeout=10) for h in handles]
    assert [j.status for j in jobs] == [S.COMPLETED] * 10
    assert [j.result for j in jobs] == [0, 1, 2, 3, 4] + ["done"] * 5


def test_a_result_that_is_not_json_fails_the_job(app: corral.Corral, worker: Worker) -> None:
    @app.task(name="unjson")
    def unjson() -> object:
        return {1, 2}

    job = unjson.enqueue().wait(timeout=10)
    assert job.status == S.FAILED and job.error.type == "InvalidResult"


def test_a_job_for_a_task_the_worker_does_not_know_fails_clearly(
    app: corral.Corral, worker: Worker,
) -> None:
    other = corral.Corral(app.settings.database_url)

    @other.task(name="not.in.worker")
    def unknown() -> None: ...

    job = unknown.enqueue().wait(timeout=10)
    other.close()
    assert job.status == S.FAILED and job.error.type == "UnknownTask"


def test_worker_stop_waits_for_running_jobs(
    app: corral.Corral, tasks: SimpleNamespace,
) -> None:
    running = Worker(app, concurrency=2)
    running.start()
    handle = tasks.quick.enqueue(200)
    wait_until(lambda: handle.refresh().status == S.RUNNING, message="the job to start")
    running.stop(wait=True, timeout=10)
    assert handle.refresh().status == S.COMPLETED
    assert app.store.list_workers()[0].state == "stopped"


def test_a_job_claimed_as_the_worker_stops_is_run_not_left_running(
    app: corral.Corral, tasks: SimpleNamespace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A claim commits, then the worker is told to stop before it has handed the job to
    a thread. The stop waits for that claim, then for the job: it completes. The stop
    used to look at the jobs in hand, find none, and return, leaving the job "running"
    in the store with nobody to run it (seen under load in CI)."""
    claimed, stop_began = threading.Event(), threading.Event()
    claim_jobs = app.store.claim_jobs

    def claim_then_pause(*args: object, **kwargs: object) -> list[corral.Job]:
        jobs = claim_jobs(*args, **kwargs)  # type: ignore[arg-type]
        if jobs:
            claimed.set()
            stop_began.wait(10)  # committed, not yet dispatched
        return jobs

    monkeypatch.setattr(app.store, "claim_jobs", claim_then_pause)
    running = Worker(app, concurrency=2)
    running.start()
    handle = tasks.quick.enqueue(500)
    assert claimed.wait(10)
    stopping = threading.Thread(target=running.stop, kwargs={"timeout": 10})
    stopping.start()
    wait_until(running.claimer.paused.is_set, message="the stop to begin")
    stop_began.set()
    stopping.join(30)
    assert handle.refresh().status == S.COMPLETED


def test_an_error_while_a_cancel_is_pending_fails_the_job_instead_of_retrying(
    app: corral.Corral, worker: Worker,
) -> None:
    started = threading.Event()

    @app.task(name="errs_when_told", max_attempts=3)
    def errs_when_told(ctx: corral.Context) -> None:
        started.set()
        while not ctx.cancelled:
            time.sleep(0.01)
        raise RuntimeError("cleanup went wrong")

    handle = errs_when_told.enqueue()
    # its body, not only its claim: a cancel before the body starts stops it at once
    assert started.wait(10), "the job's body to start"
    handle.cancel()
    job = handle.wait(timeout=10)
    assert job.status == S.FAILED and job.attempt == 1
    last = handle.events()[-1]
    assert (last.from_status, last.to_status) == (S.CANCELLING, S.FAILED)
    assert last.data["cancel_too_late"] is True


def test_a_drain_with_fast_heartbeats_logs_no_warning(
    app: corral.Corral, tasks: SimpleNamespace, tmp_path: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """A heartbeat that lands while a finished job's outcome is being written must not call
    that job lost: a warning for what went right hides the ones that matter."""
    handles = app.enqueue_many([tasks.quick.s(0.5) for _ in range(1500)])
    start_worker(concurrency=8, heartbeat_interval="0.01")
    wait_until(lambda: not app.list_jobs(status=["queued", "running"], limit=1), timeout=120,
               message="the drain")
    assert {app.get_job(h.id).status for h in handles[:50]} == {"completed"}
    warnings = [line for line in (tmp_path / "worker-0.log").read_text().splitlines()
                if "WARNING" in line]
    assert not warnings, warnings[:5]
