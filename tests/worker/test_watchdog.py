"""Timeouts, stalls and unresponsive cancels, with an in-process worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from corral.worker.worker import Worker
from tests.waiting import wait_until

S = JobStatus


@pytest.fixture
def worker(app: corral.Corral, tasks: SimpleNamespace) -> Iterator[Worker]:
    app.settings = app.settings.override(cancel_grace=0.3)
    running = Worker(app, concurrency=4)
    running.start()
    yield running
    running.stop(wait=False)


def test_a_job_past_its_timeout_fails_with_job_timeout(app: corral.Corral,
                                                       worker: Worker) -> None:
    @app.task(name="slowpoke", timeout="200ms")
    def slowpoke(ctx: corral.Context) -> None:
        while True:
            ctx.checkpoint()
            time.sleep(0.01)

    job = slowpoke.enqueue().wait(timeout=10)
    assert job.status == S.FAILED and job.error.type == "JobTimeout"
    assert "200ms" not in job.error.message and "0.2" in job.error.message


def test_a_timed_out_job_is_retried_while_attempts_remain(app: corral.Corral,
                                                          worker: Worker) -> None:
    @app.task(name="slow_then_fast", timeout=0.2, max_attempts=2)
    def slow_then_fast(ctx: corral.Context) -> int:
        if ctx.attempt == 1:
            while True:
                ctx.checkpoint()
                time.sleep(0.01)
        return ctx.attempt

    handle = slow_then_fast.enqueue()
    job = handle.wait(timeout=15)
    assert job.status == S.COMPLETED and job.result == 2
    retry = [e for e in handle.events() if e.kind == "retry_scheduled"][0]
    assert retry.data["error_type"] == "JobTimeout"


def test_a_stalled_job_is_flagged_then_cleared_when_it_moves(app: corral.Corral,
                                                            worker: Worker) -> None:
    @app.task(name="pauser", stall_after=0.2)
    def pauser(ctx: corral.Context) -> str:
        ctx.progress(1, 3)
        time.sleep(0.8)
        ctx.progress(2, 3)
        time.sleep(0.3)
        return "ok"

    handle = pauser.enqueue()
    wait_until(lambda: handle.refresh().stalled_at is not None, message="the stall flag")
    assert handle.job.display_status == "running (stalled)"
    wait_until(lambda: handle.refresh().stalled_at is None or handle.job.is_terminal,
               message="the flag to clear")
    assert handle.wait(timeout=10).status == S.COMPLETED
    assert "stalled" in [e.kind for e in handle.events()]


def test_a_stalled_job_is_cancelled_when_the_task_says_so(app: corral.Corral,
                                                          worker: Worker) -> None:
    @app.task(name="stuck", stall_after="200ms", on_stall="cancel")
    def stuck(ctx: corral.Context) -> None:
        ctx.progress(1, 10)
        while True:
            ctx.checkpoint()
            time.sleep(0.01)

    handle = stuck.enqueue()
    job = handle.wait(timeout=10)
    assert job.status == S.CANCELLED and job.cancel_reason.startswith("stalled")


def test_a_thread_ignoring_its_cancel_shows_as_unresponsive(
    app: corral.Corral, tasks: SimpleNamespace, worker: Worker,
    is_marked: Callable[[str, str], bool],
) -> None:
    # long enough that the cancel reaches the worker and its grace (0.3 s) runs out
    # before the job ends, even when the doorbell is missed and the heartbeat (2 s) carries it
    handle = tasks.stubborn.enqueue(4.0)
    # its body, not only its claim: a cancel before the body starts stops it at once
    wait_until(lambda: is_marked(handle.id, "started"), message="the job's body to start")
    handle.cancel()
    wait_until(lambda: handle.refresh().unresponsive_at is not None,
               message="the unresponsive flag")
    assert handle.job.display_status == "cancelling (unresponsive)"
    job = handle.wait(timeout=10)
    assert job.status == S.COMPLETED, "it finished anyway: status says what happened"
