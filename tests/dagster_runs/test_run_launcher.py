"""``CorralRunLauncher`` against real Dagster (issue 19): runs launched with ``dagster job
launch`` execute on corral workers; ``terminate`` really stops them (SIGTERM at once: the
op's ``finally`` runs; SIGKILL after ``cancel_grace`` for an op that ignores it); a worker
killed by ``kill -9`` takes its run process with it and the health check fails the run.
What ran is read from the marks the ops write."""

from __future__ import annotations

import os
import signal

from dagster import DagsterRunStatus
from dagster._core.launcher import WorkerStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from tests.dagster_runs.conftest import CANCEL_GRACE, Deployment, alive, quiet_logger
from tests.waiting import wait_until

R = DagsterRunStatus


def test_a_launched_run_succeeds_on_a_corral_worker_with_its_steps_as_progress(
        deployment: Deployment) -> None:
    deployment.worker()
    run_id = deployment.launch("quick")
    assert deployment.wait_run(run_id, R.SUCCESS, R.FAILURE) == R.SUCCESS
    assert all(deployment.marked(name) for name in ("extract", "transform", "load-42"))
    job = wait_until(lambda: (found := deployment.job_of(run_id)).is_terminal and found,
                     timeout=30, message="the job to finish")
    assert job.status == "completed" and job.meta["dagster_run_id"] == run_id
    assert (job.progress.current, job.progress.total) == (3, 3) and job.phase == "load"


def test_terminate_stops_a_long_op_at_once_and_its_finally_runs(
        deployment: Deployment) -> None:
    deployment.worker()
    run_id = deployment.launch("long")
    wait_until(lambda: deployment.marked("crunch-started"), timeout=90,
               message="the op to start")
    assert deployment.instance.run_launcher.terminate(run_id) is True
    assert deployment.wait_run(run_id, R.CANCELED, R.FAILURE, R.SUCCESS) == R.CANCELED
    assert deployment.marked("crunch-finally")
    job = wait_until(lambda: (found := deployment.job_of(run_id)).is_terminal and found,
                     timeout=30, message="the job to finish")
    assert job.status == "cancelled" and job.cancelled_by == "dagster"
    assert deployment.instance.run_launcher.terminate(run_id) is False  # already over


def test_an_op_that_ignores_the_interrupt_is_killed_after_cancel_grace(
        deployment: Deployment) -> None:
    deployment.worker()
    run_id = deployment.launch("stubborn")
    wait_until(lambda: deployment.marked("stubborn-started"), timeout=90,
               message="the op to start")
    step_process = deployment.mark_pid("stubborn-started")
    assert deployment.instance.run_launcher.terminate(run_id) is True
    beat = deployment.beat()
    wait_until(lambda: deployment.beat() >= beat + 10, timeout=10,
               message="the op to go on beating after SIGTERM")
    wait_until(lambda: not alive(step_process), timeout=CANCEL_GRACE + 15,
               message="the op's process to be killed")
    assert deployment.wait_run(run_id, R.CANCELED, R.FAILURE, timeout=30) == R.CANCELED
    assert wait_until(lambda: deployment.job_of(run_id).is_terminal, timeout=30)
    assert deployment.job_of(run_id).status == "cancelled"


def test_a_run_terminated_before_any_worker_took_it_is_canceled_at_once(
        deployment: Deployment) -> None:
    run_id = deployment.launch("quick")  # no worker yet
    assert deployment.instance.run_launcher.terminate(run_id) is True
    assert deployment.run_status(run_id) == R.CANCELED
    assert deployment.job_of(run_id).status == "cancelled"
    deployment.worker()  # starting one now runs nothing
    assert not deployment.marked("extract")


def test_a_worker_killed_mid_run_takes_the_run_with_it_and_the_health_check_fails_it(
        deployment: Deployment) -> None:
    first = deployment.worker()
    run_id = deployment.launch("long")
    wait_until(lambda: deployment.marked("crunch-started"), timeout=90,
               message="the op to start")
    step_process = deployment.mark_pid("crunch-started")
    deployment.worker()  # its reaper notices the dead worker
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    wait_until(lambda: not alive(step_process), timeout=10,
               message="the run's processes to die with their worker")
    job = wait_until(lambda: (found := deployment.job_of(run_id)).is_terminal and found,
                     timeout=30, message="corral to fail the job of the dead worker")
    assert job.status == "failed" and job.error is not None, job
    assert job.error.type == "WorkerLost", job.error
    run = deployment.instance.get_run_by_id(run_id)
    assert run is not None and run.status == R.STARTED, run  # Dagster does not know yet
    health = deployment.instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED and "worker lost" in (health.msg or ""), health
    record = deployment.instance.get_run_record_by_id(run_id)
    assert record is not None
    monitor_started_run(deployment.instance, None, record, quiet_logger())  # the daemon's step
    assert deployment.run_status(run_id) == R.FAILURE
    assert not deployment.marked("crunch-finally")  # killed, as its worker was
