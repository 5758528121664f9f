"""``corral enqueue``, ``restart``, ``reset-stuck``, ``delete``, ``queues``, ``stats`` and
``workers`` through the console script, and the readable error for each bad input."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from corral import ids
from corral.job import Job
from corral.status import JobStatus
from corral.store import Store
from tests.cli.conftest import CORRAL, Run, cli_env, one_error_line
from tests.conftest import REPO
from tests.factories import make_job
from tests.waiting import wait_until

APP = ("--app", "tests.workerapp:app")


def finished(store: Store, job_id: str) -> Job | None:
    job = store.get_job(job_id)
    return job if job is not None and job.is_terminal else None


def test_enqueue_a_task_by_name_with_json_arguments(
        store: Store, start_worker: Callable[..., object], corral_cli: Run) -> None:
    start_worker()

    result = corral_cli("enqueue", *APP, "noop", '{"value": {"n": 5}}', "--json")

    assert result.returncode == 0, result.stderr
    job_id = json.loads(result.stdout)["id"]
    done = wait_until(lambda: finished(store, job_id), message="the enqueued job to finish")
    assert done is not None
    assert done.status == JobStatus.COMPLETED and done.result == {"n": 5}
    text = corral_cli("enqueue", *APP, "noop", '"plain"', "--queue", "elsewhere")
    assert text.returncode == 0 and "(noop on elsewhere, queued)" in text.stdout


def test_enqueue_bad_input_is_one_line_and_a_usage_error(corral_cli: Run) -> None:
    unknown = corral_cli("enqueue", *APP, "no.such.task")
    assert unknown.returncode == 2
    assert "no task registered as 'no.such.task'" in one_error_line(unknown)
    bad_json = corral_cli("enqueue", *APP, "noop", "RY.TO")
    assert bad_json.returncode == 2 and "ARGS is not valid JSON" in one_error_line(bad_json)
    bad_kwargs = corral_cli("enqueue", *APP, "noop", "--kwargs", "[1]")
    assert bad_kwargs.returncode == 2 and "JSON object" in one_error_line(bad_kwargs)
    no_app = corral_cli("enqueue", "noop")
    assert no_app.returncode == 2 and "--app" in one_error_line(no_app)


def test_restart_a_failed_job_and_refuse_an_active_one(store: Store, corral_cli: Run) -> None:
    failed = make_job(store, JobStatus.FAILED)
    queued = make_job(store, JobStatus.QUEUED)

    result = corral_cli("restart", failed.id, "--reason", "fixed the bug")
    assert result.returncode == 0, result.stderr
    assert f"{ids.short(failed.id)}  noop  failed → queued" in result.stdout
    assert store.get_job(failed.id).status == JobStatus.QUEUED  # type: ignore[union-attr]

    refused = corral_cli("restart", queued.id)
    assert refused.returncode == 4
    assert "only failed or cancelled jobs restart" in one_error_line(refused)


def test_reset_stuck_stops_jobs_running_past_the_cutoff(store: Store, corral_cli: Run) -> None:
    stuck = make_job(store, JobStatus.RUNNING)
    fresh = make_job(store, JobStatus.QUEUED)

    result = corral_cli("reset-stuck", "--older-than", "0s", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["job_ids"] == [stuck.id]
    # its worker heartbeats (within the lease): it is asked to stop the job
    assert store.get_job(stuck.id).status == JobStatus.CANCELLING  # type: ignore[union-attr]
    assert store.get_job(fresh.id).status == JobStatus.QUEUED  # type: ignore[union-attr]
    none_yet = corral_cli("reset-stuck", "--older-than", "1h")
    assert none_yet.returncode == 0 and "0 job(s) running longer than 1h reset" in none_yet.stdout


def test_bad_durations_are_usage_errors(corral_cli: Run) -> None:
    for command in (("reset-stuck", "--older-than", "3x"),
                    ("jobs", "list", "--older-than", "3x"),
                    ("delete", "--older-than", "3x", "--yes")):
        result = corral_cli(*command)
        assert result.returncode == 2, command
        assert "'3x' is not a duration" in one_error_line(result)


def test_delete_finished_jobs_and_refuse_active_ones(store: Store, corral_cli: Run) -> None:
    done = make_job(store, JobStatus.COMPLETED)
    active = make_job(store, JobStatus.RUNNING)

    result = corral_cli("delete", done.id, active.id)

    assert result.returncode == 4
    assert f"{ids.short(done.id)}  noop  deleted" in result.stdout
    assert f"{ids.short(active.id)}  noop  refused: running" in result.stdout
    assert "cancel it first" in one_error_line(result)
    assert store.get_job(done.id) is None and store.get_job(active.id) is not None

    failed = make_job(store, JobStatus.FAILED)
    by_filter = corral_cli("delete", "--status", "failed", "--yes")
    assert by_filter.returncode == 0 and "1 job(s) deleted" in by_filter.stdout
    assert store.get_job(failed.id) is None


def test_queues_limits_pause_and_resume(store: Store, corral_cli: Run) -> None:
    make_job(store, JobStatus.QUEUED, queue="reports")

    assert corral_cli("queues", "set", "reports", "--limit", "2").returncode == 0
    assert corral_cli("queues", "pause", "reports").returncode == 0
    listed = {q["name"]: q for q in json.loads(corral_cli("queues", "--json").stdout)}
    assert listed["reports"]["concurrency"] == 2 and listed["reports"]["paused"] is True
    assert listed["reports"]["queued"] == 1

    assert corral_cli("queues", "resume", "reports").returncode == 0
    assert corral_cli("queues", "set", "reports", "--limit", "0").returncode == 0
    table = corral_cli("queues").stdout
    row = next(line for line in table.splitlines() if line.startswith("reports"))
    assert row.split()[:3] == ["reports", "none", "active"]


def test_stats_and_workers(store: Store, start_worker: Callable[..., object],
                           corral_cli: Run) -> None:
    make_job(store, JobStatus.FAILED)
    worker = start_worker(worker_id="cli-test-worker")

    stats = json.loads(corral_cli("stats", "--json").stdout)
    assert stats["counts"]["failed"] == 1 and stats["workers"]["alive"] == 1
    workers = json.loads(corral_cli("workers", "--json").stdout)
    assert [(w["id"], w["state"], w["pid"]) for w in workers] == [
        ("cli-test-worker", "running", worker.pid)]  # type: ignore[attr-defined]
    table = corral_cli("workers").stdout
    assert "cli-test-worker" in table and "running" in table
    text = corral_cli("stats").stdout
    assert "failed 1" in text and "workers alive 1, stopped 0, dead 0" in text


def test_unreachable_database_is_one_line_and_exit_1(tmp_path: Path, marks: Path) -> None:
    for url, says in ((f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "no database at"),
                      ("postgresql://nobody@127.0.0.1:1/none", "cannot connect to PostgreSQL")):
        for command in (("jobs", "list"), ("cancel", "--all", "--yes"), ("stats",)):
            result = subprocess.run([str(CORRAL), *command, "--db", url], capture_output=True,
                                    text=True, cwd=REPO, env=cli_env(None, marks), timeout=60)
            assert result.returncode == 1, (command, result.stderr)
            assert says in one_error_line(result)
