"""``corral.testing.drain``: every due job runs in this process, retries without backoff."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import corral
from corral.status import JobStatus
from corral.testing import drain
from tests.testing.tasks import loop_until_stopped

S = JobStatus


def test_drain_runs_a_chain_with_a_delayed_step_and_a_retrying_task_to_the_end(
    app: corral.Corral, tmp_path: Path,
) -> None:
    attempts = tmp_path / "attempts"

    @app.task(name="third")
    def third(n: int) -> int:
        return n + 1

    @app.task(name="second")
    def second(n: int) -> int:
        third.s(n + 1).set(delay=0.5).enqueue()
        return n + 1

    @app.task(name="first")
    def first(n: int) -> int:
        second.enqueue(n + 1)
        return n + 1

    @app.task(name="always_fails", max_attempts=3)
    def always_fails() -> None:
        with attempts.open("a") as written:
            written.write("x")
        raise RuntimeError("never works")

    first.enqueue(1)
    failing = always_fails.enqueue()
    ran = drain(app, timeout=20)

    by_task = {job.task: job for job in ran}
    assert sorted(by_task) == ["always_fails", "first", "second", "third"]
    chain = [job.task for job in ran if job.task != "always_fails"]
    assert chain == ["first", "second", "third"], "returned in the order they finished"
    assert [by_task[name].result for name in chain] == [2, 3, 4]
    delayed = by_task["third"]
    assert delayed.created_at and delayed.started_at
    assert delayed.started_at - delayed.created_at >= timedelta(seconds=0.45), (
        "a scheduled job runs only once due")
    assert attempts.read_text() == "xxx"
    failed = by_task["always_fails"]
    assert failed.status == S.FAILED and failed.attempt == 3
    assert failed.error is not None and failed.error.message == "never works"
    skipped = [e for e in failing.events() if e.kind == "run_now"]
    assert len(skipped) == 2 and {e.actor for e in skipped} == {"corral.testing"}
    assert app.list_jobs(status=["queued", "scheduled", "running", "cancelling"]) == []


def test_drain_leaves_jobs_scheduled_past_its_timeout_and_other_queues_alone(
    app: corral.Corral,
) -> None:
    @app.task(name="later")
    def later() -> str:
        return "ran"

    @app.task(name="elsewhere", queue="other")
    def elsewhere() -> str:
        return "ran"

    @app.task(name="now")
    def now() -> str:
        return "ran"

    far = later.s().set(delay="1h").enqueue()
    other = elsewhere.enqueue()
    due = now.enqueue()
    ran = drain(app, queues=["default"], timeout=5)
    assert [job.id for job in ran] == [due.id]
    assert ran[0].status == S.COMPLETED
    assert far.refresh().status == S.SCHEDULED
    assert other.refresh().status == S.QUEUED


def test_drain_raises_timeout_error_and_hands_back_a_job_still_running(
    app: corral.Corral, tmp_path: Path,
) -> None:
    handle = loop_until_stopped(app, tmp_path / "finally", "forever").enqueue()
    with pytest.raises(TimeoutError, match="still to run after 0.5s"):
        drain(app, timeout=0.5)
    job = handle.refresh()
    assert job.status == S.QUEUED and job.attempts_left == job.max_attempts
    assert (tmp_path / "finally").exists()


def test_drain_runs_a_batchs_on_complete_job(app: corral.Corral) -> None:
    @app.task(name="part")
    def part(n: int) -> int:
        return n

    @app.task(name="summary")
    def summary() -> str:
        return "all done"

    app.batch([part.s(1), part.s(2)], on_complete=summary.s())
    ran = drain(app, timeout=20)
    assert sorted(job.task for job in ran) == ["part", "part", "summary"]
    assert ran[-1].task == "summary" and ran[-1].result == "all done"
