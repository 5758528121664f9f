"""Cancellation, all four cases, against a real worker process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest

import corral
from corral.job import Job
from corral.status import JobStatus
from corral.worker.worker import Worker
from tests.waiting import wait_until

S = JobStatus


def final(handle: corral.JobHandle, timeout: float = 15) -> corral.Job:
    return handle.wait(timeout=timeout)


def test_pending_job_is_cancelled_and_never_starts(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker(concurrency=1)
    blocker = tasks.spin.enqueue(60)
    wait_until(lambda: is_marked(blocker.id, "started"), message="the blocker to start")
    pending = tasks.spin.enqueue(60)
    job = pending.cancel(reason="changed my mind")
    assert job.status == S.CANCELLED and job.cancel_reason == "changed my mind"
    blocker.cancel()
    assert final(blocker).status == S.CANCELLED
    assert pending.refresh().status == S.CANCELLED
    assert not is_marked(pending.id, "started")
    assert "claimed" not in [e.kind for e in pending.events()]


def test_running_sync_job_stops_at_next_checkpoint_keeping_phase_and_partial_result(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
) -> None:
    start_worker()
    handle = tasks.ticker.enqueue("RY.TO", steps=400, step=0.01)
    wait_until(lambda: handle.refresh().phase == "digest" and handle.job.result,
               message="the digest phase with a partial result")
    job = handle.cancel(reason="wrong ticker")
    assert job.status in (S.CANCELLING, S.CANCELLED)
    done = final(handle)
    assert done.status == S.CANCELLED
    assert done.phase == "digest"
    assert done.result["name"] == "RY.TO" and 0 < done.result["digested"] < 400
    assert done.progress.total == 400 and 0 < done.progress.current < 400
    event = [e for e in handle.events() if e.kind == "cancelled"][-1]
    assert event.data["was_in_phase"] == "digest"
    assert event.reason == "wrong ticker" and event.from_status == S.CANCELLING
    assert event.data["latency_ms"] >= 0
    kinds = [e.kind for e in handle.events()]
    assert kinds.index("cancel_requested") < kinds.index("cancelled")


def test_running_async_job_gets_cancelled_error_and_its_finally_runs(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker()
    handle = tasks.async_sleep.enqueue(60)
    wait_until(lambda: is_marked(handle.id, "started"), message="the async job to start")
    handle.cancel(reason="enough")
    assert final(handle).status == S.CANCELLED
    assert is_marked(handle.id, "finally")


def test_force_cancel_ends_the_job_at_once_and_the_late_result_is_refused(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker()
    handle = tasks.stubborn.enqueue(1.0)
    wait_until(lambda: is_marked(handle.id, "started"), message="the job to start")
    job = handle.cancel(force=True, reason="hung")
    assert job.status == S.CANCELLED
    wait_until(lambda: is_marked(handle.id, "returned"), message="the thread to return")
    wait_until(lambda: "outcome_refused" in [e.kind for e in handle.events()],
               message="the late outcome to be refused")
    assert handle.refresh().status == S.CANCELLED and handle.job.result is None


def test_shielded_block_finishes_before_the_cancel_takes_effect(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker()
    handle = tasks.shielded.enqueue(0.5)
    wait_until(lambda: is_marked(handle.id, "started"), message="the job to start")
    handle.cancel()
    assert final(handle).status == S.CANCELLED
    assert is_marked(handle.id, "shield_done")
    assert not is_marked(handle.id, "after_shield")


def test_cancelling_a_finished_job_raises_with_its_status(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
) -> None:
    start_worker()
    handle = tasks.noop.enqueue({"x": 1})
    assert final(handle).status == S.COMPLETED
    with pytest.raises(corral.JobAlreadyFinished) as caught:
        handle.cancel()
    assert caught.value.status == "completed" and caught.value.job_id == handle.id


def test_cancelling_an_unknown_job_raises_not_found(app: corral.Corral) -> None:
    with pytest.raises(corral.JobNotFound):
        app.cancel("01900000-0000-7000-8000-000000000000")


def test_cancel_reaches_the_worker_without_waiting_for_a_heartbeat(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
    is_marked: Callable[[str, str], bool],
) -> None:
    """With heartbeats an hour apart, only the notification path can deliver the cancel."""
    start_worker(heartbeat_interval="1h")
    handle = tasks.spin.enqueue(60)
    wait_until(lambda: is_marked(handle.id, "started"), message="the job to start")
    handle.cancel()
    assert final(handle, timeout=10).status == S.CANCELLED
    assert is_marked(handle.id, "finally")


def test_a_cancel_between_claim_and_dispatch_is_not_left_for_the_heartbeat(
    app: corral.Corral,
) -> None:
    """The claim has committed (the job reads ``running``) but the worker has not yet
    handed the job to a thread when the cancel arrives: the worker keeps it and stops the
    job at dispatch. With heartbeats an hour apart, nothing else could deliver it."""

    @app.task(name="looper")
    def looper(ctx: corral.Context) -> None:
        while True:
            ctx.checkpoint()
            time.sleep(0.01)

    app.settings = app.settings.override(heartbeat_interval=3600, lease=7200)
    worker = Worker(app, concurrency=1)
    worker.start()
    try:
        dispatch, deliver = worker.claimer._dispatch, worker.notifications._on_cancel
        gate, delivered = threading.Event(), threading.Event()

        def dispatch_at_the_gate(job: Job) -> None:
            gate.wait(30)
            dispatch(job)

        def deliver_and_say(job_id: str) -> None:
            deliver(job_id)
            delivered.set()

        worker.claimer._dispatch = dispatch_at_the_gate  # type: ignore[method-assign]
        worker.notifications._on_cancel = deliver_and_say
        # the claimer's thread claims, so that the listener's is free to hear the cancel
        # (a claim on the listener's thread takes the cancel after its dispatch)
        worker.notifications._claim_now = worker.claimer.wake.set
        handle = looper.enqueue()
        wait_until(lambda: handle.refresh().status == S.RUNNING, message="the claim")
        assert handle.cancel().status == S.CANCELLING
        assert delivered.wait(10), "the cancel to reach the worker"
        gate.set()
        job = handle.wait(timeout=10)
        assert job.status == S.CANCELLED and job.cancel_reason is None  # the user's cancel
    finally:
        gate.set()
        worker.stop(wait=False)
