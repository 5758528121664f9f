"""isolation="process": the task runs in a child the worker can kill."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import corral
from corral.status import JobStatus
from tests import workerapp
from tests.waiting import wait_until

S = JobStatus
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def isolated(app: corral.Corral) -> object:
    return workerapp.register_isolated(app)


def test_a_process_task_reports_progress_and_result_from_its_child(
    app: corral.Corral, isolated: object, start_worker: StartWorker, marks: Path,
) -> None:
    worker = start_worker()
    handle = isolated.isolated_ticker.enqueue(20)  # type: ignore[attr-defined]
    job = handle.wait(timeout=30)
    assert job.status == S.COMPLETED, job.error
    assert job.result["steps"] == 20 and job.result["pid"] != worker.pid
    assert job.phase == "work" and job.progress.current == 20
    assert "phase" in [e.kind for e in handle.events()]


def test_a_process_task_error_is_recorded_with_its_traceback(
    app: corral.Corral, isolated: object, start_worker: StartWorker,
) -> None:
    start_worker()
    job = isolated.isolated_boom.enqueue().wait(timeout=30)  # type: ignore[attr-defined]
    assert job.status == S.FAILED and job.error.type == "KeyError"
    assert "from the child" in job.error.traceback


def test_a_process_task_that_never_checks_is_killed_after_the_grace(
    app: corral.Corral, isolated: object, start_worker: StartWorker, marks: Path,
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker(settings={"cancel_grace": "0.5"})
    handle = isolated.isolated_sleep.enqueue(3600)  # type: ignore[attr-defined]
    wait_until(lambda: is_marked(handle.id, "started"), timeout=30,
               message="the child to start")
    child_pid = int((marks / f"{handle.id}.started").read_text())
    asked = time.monotonic()
    handle.cancel(reason="it never checks")
    job = handle.wait(timeout=10)
    stopped_after = time.monotonic() - asked
    assert job.status == S.CANCELLED
    assert stopped_after < 0.5 + 1.0 + 0.5, f"stopped after {stopped_after:.2f}s"
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)
    assert not is_marked(handle.id, "returned")


def test_a_process_task_is_cancelled_politely_at_its_checkpoint_first(
    app: corral.Corral, isolated: object, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker(settings={"cancel_grace": "30"})
    handle = isolated.isolated_ticker.enqueue(100000)  # type: ignore[attr-defined]
    wait_until(lambda: (handle.refresh().result or {}).get("done", 0) > 3, timeout=30,
               message="the child to make progress")
    handle.cancel()
    job = handle.wait(timeout=10)
    assert job.status == S.CANCELLED and job.phase == "work" and job.result["done"] > 3
