"""A task's own ``cancel_grace`` (issue 15 item 5, DESIGN §11: a setting is a task keyword
where it applies): a quick task and a 10-minute run need different graces. The worker's
setting stays 30 s here; the task's shorter grace is what a real worker applies."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

import corral
from corral.status import JobStatus
from tests import workerapp
from tests.waiting import wait_until

S = JobStatus
StartWorker = Callable[..., subprocess.Popen[bytes]]
WORKER_GRACE = {"cancel_grace": "30"}


def test_a_process_job_is_killed_after_its_task_grace_not_the_worker_one(
    app: corral.Corral, start_worker: StartWorker, marks: Path,
    is_marked: Callable[[str, str], bool],
) -> None:
    """Before: ``@app.task(isolation="process", cancel_grace="0.5")`` was a TypeError, and
    every job waited the worker's grace (30 s here) before its kill."""
    isolated = workerapp.register_isolated(app)
    start_worker(settings=WORKER_GRACE)
    handle = isolated.isolated_quick_grace.enqueue(3600)
    wait_until(lambda: is_marked(handle.id, "started"), timeout=30,
               message="the child to start")
    child_pid = int((marks / f"{handle.id}.started").read_text())
    asked = time.monotonic()
    handle.cancel(reason="it never checks")
    job = handle.wait(timeout=10)
    stopped_after = time.monotonic() - asked
    assert job.status == S.CANCELLED
    assert 0.5 <= stopped_after < 0.5 + 1.0 + 0.5, f"stopped after {stopped_after:.2f}s"
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)
    assert not is_marked(handle.id, "returned")


def test_a_thread_job_is_flagged_unresponsive_after_its_task_grace(
    app: corral.Corral, tasks: SimpleNamespace, start_worker: StartWorker,
    is_marked: Callable[[str, str], bool],
) -> None:
    start_worker(settings=WORKER_GRACE)
    handle = tasks.stubborn_quick_grace.enqueue(5)
    wait_until(lambda: is_marked(handle.id, "started"), timeout=30, message="the job to start")
    cancelling = handle.cancel(reason="it never checks")
    flagged = wait_until(lambda: handle.refresh().unresponsive_at and handle.job, timeout=5,
                         message="the job flagged unresponsive")
    assert cancelling.cancel_requested_at is not None
    waited = flagged.unresponsive_at - cancelling.cancel_requested_at
    assert timedelta(seconds=0.3) <= waited < timedelta(seconds=2), waited
    assert "unresponsive" in [e.kind for e in handle.events()]
