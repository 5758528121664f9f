"""``corral cancel``: by id, by batch, by filter with confirmation, politely or by force."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

import corral
from corral import ids
from corral.app import default_actor
from corral.status import JobStatus
from corral.store import Store
from tests.cli.conftest import Run, one_error_line
from tests.factories import make_job
from tests.waiting import wait_until


def status_of(store: Store, job_id: str) -> JobStatus:
    job = store.get_job(job_id)
    assert job is not None
    return job.status


def test_cancel_a_pending_job_by_prefix_records_reason_and_who(
        store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.QUEUED, task="ticker")

    result = corral_cli("cancel", job.id[:-8], "--reason", "wrong ticker")

    assert result.returncode == 0, result.stderr
    assert f"{ids.short(job.id)}  ticker  queued → cancelled" in result.stdout
    cancelled = store.get_job(job.id)
    assert cancelled is not None and cancelled.status == JobStatus.CANCELLED
    assert cancelled.cancel_reason == "wrong ticker"
    assert cancelled.cancelled_by == default_actor()


def test_cancel_a_running_job_its_worker_stops_it(
        app: corral.Corral, tasks: SimpleNamespace, start_worker: Callable[..., object],
        corral_cli: Run, is_marked: Callable[[str, str], bool]) -> None:
    start_worker()
    handle = tasks.spin.enqueue(60)
    wait_until(lambda: is_marked(handle.id, "started"), message="the job to start")

    result = corral_cli("cancel", handle.id)

    assert result.returncode == 0, result.stderr
    assert f"{ids.short(handle.id)}  spin  running → cancelling" in result.stdout
    assert handle.wait(timeout=15).status == JobStatus.CANCELLED
    assert is_marked(handle.id, "finally")


def test_cancel_of_a_finished_job_is_a_conflict(store: Store, corral_cli: Run) -> None:
    job = make_job(store, JobStatus.COMPLETED)

    result = corral_cli("cancel", job.id)

    assert result.returncode == 4
    assert f"{ids.short(job.id)}  noop  refused: completed" in result.stdout
    assert "already finished" in one_error_line(result)
    assert status_of(store, job.id) == JobStatus.COMPLETED


def test_force_cancel_ends_a_job_whose_worker_is_hung(store: Store, corral_cli: Run) -> None:
    stuck = make_job(store, JobStatus.RUNNING, worker="hung-worker")

    result = corral_cli("cancel", stuck.id, "--force", "--reason", "worker hung")

    assert result.returncode == 0, result.stderr
    assert "running → cancelled" in result.stdout  # at once, not "cancelling"
    assert status_of(store, stuck.id) == JobStatus.CANCELLED


def test_cancel_a_batch_leaves_other_jobs_alone(
        app: corral.Corral, tasks: SimpleNamespace, store: Store, corral_cli: Run) -> None:
    batch = app.batch([tasks.noop.s(i) for i in range(3)])
    other = tasks.noop.enqueue("other")

    result = corral_cli("cancel", "--batch", batch.id, "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["job_ids"]) == sorted(j.id for j in batch.jobs)
    assert {job["status"] for job in report["jobs"]} == {"cancelled"}
    assert status_of(store, other.id) == JobStatus.QUEUED
    missing = corral_cli("cancel", "--batch", "no-such-batch")
    assert missing.returncode == 3 and "not found" in one_error_line(missing)


def test_cancel_all_by_filter_asks_first(store: Store, corral_cli: Run) -> None:
    reports = [make_job(store, JobStatus.QUEUED, queue="reports") for _ in range(2)]
    other = make_job(store, JobStatus.QUEUED)

    declined = corral_cli("cancel", "--all", "--status", "queued", "--queue", "reports",
                          input="n\n")
    assert declined.returncode == 1
    assert "Cancel 2 job(s) (status queued, queue reports)?" in declined.stderr
    assert all(status_of(store, j.id) == JobStatus.QUEUED for j in reports)

    accepted = corral_cli("cancel", "--all", "--status", "queued", "--queue", "reports",
                          input="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert all(status_of(store, j.id) == JobStatus.CANCELLED for j in reports)
    assert "2 job(s) cancelled" in accepted.stdout
    assert status_of(store, other.id) == JobStatus.QUEUED

    dry = corral_cli("cancel", "--all", "--dry-run")
    assert dry.returncode == 0
    assert f"{ids.short(other.id)}  noop  would cancel (queued)" in dry.stdout
    assert status_of(store, other.id) == JobStatus.QUEUED
    unasked = corral_cli("cancel", "--all", "--yes")
    assert unasked.returncode == 0 and "?" not in unasked.stderr
    assert status_of(store, other.id) == JobStatus.CANCELLED


def test_cancel_needs_ids_or_a_filter(corral_cli: Run) -> None:
    result = corral_cli("cancel")
    assert result.returncode == 2 and "give job ids, a filter" in one_error_line(result)
    both = corral_cli("cancel", "0123456789", "--status", "queued")
    assert both.returncode == 2 and "not both" in one_error_line(both)
