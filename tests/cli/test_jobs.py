"""``corral jobs list`` / ``jobs show``, and short ids, on both stores."""

from __future__ import annotations

import json
import os

import corral
from corral import ids
from corral.app import default_actor
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter, ProgressUpdate
from tests.cli.conftest import Run, one_error_line
from tests.factories import WORKER, make_job


def test_jobs_list_shows_status_progress_phase_age_and_worker(
        store: Store, corral_cli: Run) -> None:
    running = make_job(store, JobStatus.RUNNING, task="ticker")
    store.record_progress([ProgressUpdate(running.id, WORKER, running.attempt, "digest",
                                          5, 10, "halfway")])
    queued = make_job(store, JobStatus.QUEUED, task="noop", queue="reports")

    result = corral_cli("jobs", "list")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "task", "status", "progress", "phase", "age", "queue",
                                "worker"]
    running_row = next(line for line in lines if line.startswith(ids.short(running.id)))
    assert running_row.split()[1:3] == ["ticker", "running"]
    assert "50%" in running_row and "digest" in running_row and WORKER in running_row
    queued_row = next(line for line in lines if line.startswith(ids.short(queued.id)))
    assert queued_row.split()[1:3] == ["noop", "queued"] and "reports" in queued_row
    assert lines.index(queued_row) < lines.index(running_row)  # newest first
    assert "2 jobs" in result.stdout


def test_jobs_list_filters_by_status_queue_task_and_limit(store: Store, corral_cli: Run) -> None:
    failed = make_job(store, JobStatus.FAILED, task="boom")
    queued = [make_job(store, JobStatus.QUEUED, queue="reports") for _ in range(3)]

    def listed(*flags: str) -> list[str]:
        result = corral_cli("jobs", "list", "--json", *flags)
        assert result.returncode == 0, result.stderr
        return [job["id"] for job in json.loads(result.stdout)]

    assert listed("--status", "failed") == [failed.id]
    assert listed("--status", "failed,queued") == [j.id for j in reversed([failed, *queued])]
    assert listed("--queue", "reports") == [j.id for j in reversed(queued)]
    assert listed("--task", "boom") == [failed.id]
    assert listed("--queue", "reports", "--limit", "2") == [queued[2].id, queued[1].id]
    unknown = corral_cli("jobs", "list", "--status", "runing")
    assert unknown.returncode == 2 and "unknown status 'runing'" in one_error_line(unknown)


def test_jobs_show_prints_the_job_and_its_audit_trail(
        app: corral.Corral, store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.QUEUED, args=["RY.TO"])
    app.cancel(job.id, reason="wrong ticker")

    result = corral_cli("jobs", "show", job.id)

    assert result.returncode == 0, result.stderr
    assert "cancelled" in result.stdout and '["RY.TO"]' in result.stdout
    trail = result.stdout[result.stdout.index("audit trail"):].splitlines()
    enqueued = next(line for line in trail if " enqueued " in line)
    cancelled = next(line for line in trail if " cancelled " in line)
    assert trail.index(enqueued) < trail.index(cancelled)
    assert "queued → cancelled" in cancelled and "wrong ticker" in cancelled
    assert default_actor() in cancelled  # who did it: user@host

    as_json = json.loads(corral_cli("jobs", "show", job.id, "--json").stdout)
    assert as_json["job"]["status"] == "cancelled"
    assert as_json["job"]["cancel_reason"] == "wrong ticker"
    assert [e["kind"] for e in as_json["events"]] == ["enqueued", "cancelled"]


def test_a_unique_prefix_names_a_job(store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.QUEUED)
    make_job(store, JobStatus.QUEUED)

    for prefix in (job.id[:-6], job.id.replace("-", "")[:26].upper()):
        result = corral_cli("jobs", "show", prefix, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["job"]["id"] == job.id


def test_an_ambiguous_prefix_is_refused_with_the_candidates(store: Store,
                                                            corral_cli: Run) -> None:
    first, second = (make_job(store, JobStatus.QUEUED) for _ in range(2))
    shared = os.path.commonprefix([first.id, second.id])
    assert len(shared) >= 6  # ids start with their creation time

    result = corral_cli("cancel", shared)

    assert result.returncode == 4  # a conflict: the id names more than one job
    line = one_error_line(result)
    assert "give more digits" in line
    assert ids.short(first.id) in line and ids.short(second.id) in line
    assert all(j.status == JobStatus.QUEUED for j in store.list_jobs(JobFilter(), limit=None))


def test_unknown_and_too_short_ids(store: Store, corral_cli: Run) -> None:
    make_job(store, JobStatus.QUEUED)
    missing = corral_cli("jobs", "show", "0123456789ab")
    assert missing.returncode == 3 and "not found" in one_error_line(missing)
    not_hex = corral_cli("watch", "not-an-id")
    assert not_hex.returncode == 2 and "'not-an-id' is not a job id" in one_error_line(not_hex)
    short = corral_cli("jobs", "show", "01a2")
    assert short.returncode == 2 and "at least 6 hex digits" in one_error_line(short)
