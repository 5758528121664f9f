"""``corral.Worker`` for a process you own, and ``corral.testing.worker`` for a block."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import corral
from corral.status import JobStatus
from corral.testing import worker
from corral.worker.worker import HAND_BACK_WAIT
from tests.testing.tasks import loop_until_stopped
from tests.waiting import wait_until

S = JobStatus


def test_the_worker_context_manager_runs_jobs_and_stops_on_exit(app: corral.Corral) -> None:
    @app.task(name="shout")
    def shout(text: str) -> str:
        return text.upper()

    with worker(app) as running:
        assert shout.enqueue("hi").wait(timeout=20).result == "HI"
    assert {w.id: w.state for w in app.store.list_workers()} == {running.id: "stopped"}


def test_corral_worker_is_public_and_stop_hands_a_job_back_after_the_grace(
    app: corral.Corral, tmp_path: Path,
) -> None:
    loops = loop_until_stopped(app, tmp_path / "finally", "loops", queue="loops",
                               max_attempts=2)
    running = corral.Worker(app, queues=["loops"], concurrency=1)
    running.start()
    handle = loops.enqueue()
    wait_until(lambda: handle.refresh().status == S.RUNNING, message="the job to start")
    began = time.monotonic()
    running.stop(grace=0.3)
    took = time.monotonic() - began
    assert 0.3 <= took < 0.3 + HAND_BACK_WAIT + 3
    job = handle.refresh()
    assert job.status == S.QUEUED and job.attempts_left == 2, "handed back, attempt kept"
    assert (tmp_path / "finally").exists()
    assert handle.events()[-1].kind == "released"


def test_stop_lets_a_job_that_ends_within_the_grace_complete(
    app: corral.Corral, tmp_path: Path,
) -> None:
    @app.task(name="short")
    def short(ctx: corral.Context) -> str:
        (tmp_path / "started").touch()
        ends = time.monotonic() + 0.5
        while time.monotonic() < ends:
            ctx.checkpoint()
            time.sleep(0.01)
        return "finished"

    running = corral.Worker(app, concurrency=1)
    running.start()
    handle = short.enqueue()
    wait_until(lambda: (tmp_path / "started").exists(), message="the job to start")
    began = time.monotonic()
    running.stop(grace=20)
    assert time.monotonic() - began < 20
    job = handle.refresh()
    assert job.status == S.COMPLETED and job.result == "finished"


def test_stop_takes_grace_or_timeout_not_both(app: corral.Corral) -> None:
    running = corral.Worker(app)
    with pytest.raises(corral.ConfigError):
        running.stop(grace=1, timeout=1)
    with pytest.raises(corral.ConfigError):
        running.stop(grace=-1)
