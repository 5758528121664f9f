"""Graceful shutdown: finish what can finish, hand the rest back, never lose a job."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from tests.waiting import wait_until

S = JobStatus
StartWorker = Callable[..., subprocess.Popen[bytes]]


def test_sigterm_lets_a_running_job_finish_then_exits(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    worker = start_worker(settings={"shutdown_grace": "30"})
    handle = tasks.survivor.enqueue(0.5)
    wait_until(lambda: is_marked(handle.id, "started-1"), message="the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert handle.refresh().status == S.COMPLETED
    assert [w.state for w in app.store.list_workers()] == ["stopped"]


def test_sigterm_hands_back_jobs_still_running_after_the_grace(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    worker = start_worker(settings={"shutdown_grace": "0.3"})
    polite = tasks.spin.enqueue(60)
    stubborn = tasks.stubborn.enqueue(60)
    wait_until(lambda: is_marked(polite.id, "started") and is_marked(stubborn.id, "started"),
               message="both jobs to start")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=20)
    for handle in (polite, stubborn):
        job = handle.refresh()
        assert job.status == S.QUEUED and job.attempts_left == job.max_attempts
        assert handle.events()[-1].kind == "released"
    assert is_marked(polite.id, "finally"), "the polite job was stopped at a checkpoint"
    start_worker()  # the jobs run again on the next worker
    wait_until(lambda: is_marked(polite.id, "started"), message="the job to run again")


def test_a_second_signal_exits_at_once_and_the_reaper_recovers_the_job(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    worker = start_worker(concurrency=1, settings={"shutdown_grace": "60"})
    start_worker(concurrency=1, queues="other")
    handle = tasks.survivor.enqueue(60)
    wait_until(lambda: is_marked(handle.id, "started-1"), message="the job to start")
    worker.send_signal(signal.SIGTERM)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=10) != 0
    wait_until(lambda: handle.refresh().status == S.QUEUED, timeout=10,
               message="the reaper to requeue the job")


def test_restarted_job_runs_again_under_the_same_id(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
) -> None:
    start_worker()
    failed = tasks.boom.enqueue("first")
    assert failed.wait(timeout=10).status == S.FAILED
    again = failed.restart(reason="deployed a fix")
    # restart returns the job as read right after (the live worker may have claimed it
    # already: its doorbell rings at once); issue 16 makes it the row the UPDATE wrote
    assert again.id == failed.id and again.status in (S.QUEUED, S.RUNNING, S.FAILED)
    assert again.attempt_offset == 1
    job = failed.wait(timeout=10)
    assert job.status == S.FAILED and job.attempt == 2
    kinds = [e.kind for e in failed.events()]
    assert kinds == ["enqueued", "claimed", "failed", "restarted", "claimed", "failed"]


def test_restart_of_an_active_job_is_refused(app: corral.Corral,
                                             tasks: SimpleNamespace) -> None:
    handle = tasks.noop.enqueue()
    with pytest.raises(corral.JobNotRestartable) as refused:
        handle.restart()
    assert refused.value.status == "queued"


def test_reset_stuck_cancels_long_running_jobs_and_returns_their_ids(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker()
    old = tasks.spin.enqueue(60)
    wait_until(lambda: is_marked(old.id, "started"), message="the job to start")
    assert app.reset_stuck("1h") == []
    assert app.reset_stuck(0) == [old.id]
    assert old.wait(timeout=10).status == S.CANCELLED


def test_a_job_cancelled_by_a_user_ends_cancelled_when_its_worker_shuts_down(
    app: corral.Corral, tasks: SimpleNamespace, is_marked: Callable[[str, str], bool],
) -> None:
    from corral.worker.worker import Worker

    worker = Worker(app, concurrency=1)
    worker.start()
    handle = tasks.shielded.enqueue(0.5)
    wait_until(lambda: is_marked(handle.id, "started"), message="the job to start")
    assert handle.cancel().status == S.CANCELLING
    worker.stop(wait=False)
    assert handle.refresh().status == S.CANCELLED


def test_a_signal_the_moment_the_worker_registers_stops_it_cleanly(
    app: corral.Corral, start_worker: StartWorker,
) -> None:
    """The signal handlers are in place before the worker registers: SIGTERM as soon as it
    shows up (while its threads are still starting) is a clean stop, not a worker killed
    registered, which would read as dead and hold whatever it had claimed."""
    for _ in range(3):
        worker = start_worker()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    assert [w.state for w in app.store.list_workers()] == ["stopped"] * 3


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_stopped_worker_gives_its_connections_back_to_the_pool(
    app: corral.Corral, tasks: SimpleNamespace,
) -> None:
    """A worker's claimer and recorder each keep a pooled connection while it runs; an app
    that starts and stops workers (tests, a reloading dev server) would otherwise run its
    pool (32 connections) dry, two workers at a time."""
    from corral.worker.worker import Worker

    pool = app.store.driver._pool  # type: ignore[attr-defined]
    for number in range(3):
        worker = Worker(app, concurrency=1)
        worker.start()
        assert tasks.noop.enqueue(number).wait(timeout=10).result == number
        worker.stop()
    wait_until(lambda: pool.get_stats()["pool_available"] == pool.get_stats()["pool_size"],
               message="every connection back in the pool")
