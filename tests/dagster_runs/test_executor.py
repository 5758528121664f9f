"""``corral_executor`` against real Dagster (issue 19): each step of a run is its own corral
job, with the step as its phase, the run's steps one batch; terminating the run cancels
every step's job at once and each step's ``finally`` runs."""

from __future__ import annotations

from dagster import DagsterRunStatus

from tests.dagster_runs.conftest import Deployment
from tests.waiting import wait_until

R = DagsterRunStatus
PARTS = ("a", "b", "c")


def step_jobs(deployment: Deployment, run_id: str) -> dict[str, object]:
    return {job.meta["dagster_step"]: job for job in deployment.store.list_jobs(
        task="dagster.step", meta={"dagster_run_id": run_id})}


def run_batch(deployment: Deployment, run_id: str) -> str:
    run = deployment.instance.get_run_by_id(run_id)
    assert run is not None
    return run.tags["corral/batch_id"]


def test_each_step_runs_as_its_own_corral_job(deployment: Deployment) -> None:
    deployment.worker()
    run_id = deployment.launch("quick_steps")
    assert deployment.wait_run(run_id, R.SUCCESS, R.FAILURE) == R.SUCCESS
    assert all(deployment.marked(name) for name in ("extract", "transform", "load-42"))
    # Dagster reads a step's success from its event log, written before the step's job
    # returns and its worker records it: the last job may still be finishing
    jobs = wait_until(
        lambda: (found := step_jobs(deployment, run_id)) and all(
            job.status == "completed" for job in found.values()) and found,  # type: ignore[attr-defined]
        timeout=30, message="every step's job to be completed")
    assert sorted(jobs) == ["extract", "load", "transform"]
    assert {key: job.phase for key, job in jobs.items()} == {  # type: ignore[attr-defined]
        key: key for key in jobs}
    batch = deployment.store.get_batch(run_batch(deployment, run_id))  # the run's steps
    assert batch.counts["completed"] == 3 and batch.is_finished
    assert {job.batch_id for job in jobs.values()} == {batch.id}  # type: ignore[attr-defined]


def test_terminating_a_run_cancels_every_step_at_once(deployment: Deployment) -> None:
    deployment.worker()
    run_id = deployment.launch("fanout")
    wait_until(lambda: all(deployment.marked(f"part-{part}-started") for part in PARTS),
               timeout=120, message="the three steps to start")
    assert deployment.instance.run_launcher.terminate(run_id) is True
    cancelled = wait_until(
        lambda: (jobs := step_jobs(deployment, run_id)) and all(
            job.status == "cancelled" for job in jobs.values()) and jobs,  # type: ignore[attr-defined]
        timeout=30, message="every step's job to be cancelled")
    assert sorted(cancelled) == [f"part_{part}" for part in PARTS]
    assert deployment.store.get_batch(run_batch(deployment, run_id)).counts["cancelled"] == 3
    wait_until(lambda: all(deployment.marked(f"part-{part}-finally") for part in PARTS),
               timeout=30, message="every step's finally to run")
    assert deployment.wait_run(run_id, R.CANCELED, R.FAILURE, R.SUCCESS) == R.CANCELED
