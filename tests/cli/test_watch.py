"""``corral watch``: follows a job or batch to its end and exits with its outcome."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import corral
from corral import ids
from corral.status import JobStatus
from corral.store import Store
from tests.cli.conftest import CORRAL, Run, cli_env, one_error_line
from tests.conftest import REPO
from tests.factories import make_job
from tests.waiting import wait_until


def test_watch_follows_a_running_job_through_its_phases_until_it_completes(
        app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
        corral_cli: Run) -> None:
    start_worker()
    handle = tasks.ticker.enqueue("RY.TO", steps=40, step=0.03)  # 1.2 s per phase
    wait_until(lambda: handle.refresh().status == JobStatus.RUNNING, message="the job to run")

    result = corral_cli("watch", handle.id, "--interval", "0.05")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    seen = [line.split()[3:5] for line in lines if ids.short(handle.id) in line]
    assert ["running", "digest"] in seen  # a line per status or phase change
    assert seen.index(["running", "digest"]) < seen.index(["completed", "commit"])
    assert "RY.TO: digest" in result.stdout  # the progress message
    assert f"{ids.short(handle.id)} completed in" in lines[-1]
    assert '"digested": 40' in lines[-1]  # the result
    assert handle.refresh().status == JobStatus.COMPLETED


def test_watch_exits_1_and_says_why_when_the_job_fails_or_is_cancelled(
        app: corral.Corral, store: Store, corral_cli: Run) -> None:
    failed = make_job(store, JobStatus.FAILED)
    result = corral_cli("watch", failed.id)
    assert result.returncode == 1
    assert one_error_line(result).endswith(
        f"job {ids.short(failed.id)} failed: ValueError: factory")

    queued = make_job(store, JobStatus.QUEUED)
    app.cancel(queued.id, reason="not needed", actor="ops@example")
    result = corral_cli("watch", queued.id)
    assert result.returncode == 1
    assert "cancelled by ops@example: not needed" in one_error_line(result)


def test_watch_a_batch_until_every_job_has_finished(
        app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
        corral_cli: Run) -> None:
    start_worker()
    batch = app.batch([tasks.ticker.s(name, steps=10, step=0.02) for name in ("A", "B", "C")],
                      name="daily")

    result = corral_cli("watch", "--batch", batch.id, "--interval", "0.05")

    assert result.returncode == 0, result.stderr
    assert f"batch {batch.id} completed: 3 completed" in result.stdout
    for job in batch.jobs:
        assert f"{ids.short(job.id)}  ticker  completed" in result.stdout
    missing = corral_cli("watch", "--batch", "no-such-batch")
    assert missing.returncode == 3 and "batch no-such-batch not found" in one_error_line(missing)


def test_watch_of_a_batch_with_a_failed_job_exits_1(
        app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
        corral_cli: Run) -> None:
    start_worker()
    batch = app.batch([tasks.noop.s(1), tasks.boom.s()])

    result = corral_cli("watch", "--batch", batch.id, "--interval", "0.05")

    assert result.returncode == 1
    assert f"batch {batch.id} failed: 1 completed, 1 failed" in one_error_line(result)


def test_ctrl_c_stops_watching_and_leaves_the_job_running(
        db_url: str, store: Store, marks: Path) -> None:
    job = make_job(store, JobStatus.RUNNING)
    watcher = subprocess.Popen([str(CORRAL), "watch", job.id], cwd=REPO,
                               env=cli_env(db_url, marks), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    first = watcher.stdout.readline()  # the watcher has read the job: it is watching
    assert ids.short(job.id) in first and "running" in first

    watcher.send_signal(signal.SIGINT)
    out, err = watcher.communicate(timeout=30)

    assert watcher.returncode == 130, err
    assert "stopped watching; the job goes on" in out and "Traceback" not in err
    still = store.get_job(job.id)
    assert still is not None and still.status == JobStatus.RUNNING
    assert still.cancel_requested_at is None


def test_watch_needs_exactly_one_of_a_job_or_a_batch(corral_cli: Run) -> None:
    neither = corral_cli("watch")
    assert neither.returncode == 2 and "job id or --batch" in one_error_line(neither)
