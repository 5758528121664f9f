"""The test factory puts a job in any state, on every backend, in one call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter, ReapReport
from tests.factories import WORKER, make_job, register_worker

S = JobStatus


@pytest.mark.parametrize("status", list(JobStatus))
def test_factory_makes_a_job_in_every_status(store: Store, status: JobStatus) -> None:
    job = make_job(store, status)
    assert job.status == status
    assert store.get_job(job.id).status == status  # type: ignore[union-attr]


def test_factory_scheduled_job_is_due_in_the_future_and_not_claimed(store: Store) -> None:
    at = datetime.now(UTC) + timedelta(days=2)
    default, given = make_job(store, S.SCHEDULED), make_job(store, S.SCHEDULED, run_at=at)
    assert default.run_at > datetime.now(UTC) + timedelta(minutes=30)  # type: ignore[operator]
    assert abs((given.run_at - at).total_seconds()) < 0.01  # type: ignore[operator]
    assert store.claim_jobs(WORKER, ["default"], 10) == []


def test_factory_job_on_a_dead_worker_is_recovered_by_the_next_reap(store: Store) -> None:
    job = make_job(store, S.RUNNING, worker="doomed", dead_worker=True, max_attempts=2)
    assert job.worker_id == "doomed"
    assert {w.id: w.state for w in store.list_workers()} == {"doomed": "running"}
    report = store.reap(lease=3600, actor="reaper")
    assert (report.dead_workers, report.requeued) == (("doomed",), (job.id,))


def test_factory_job_on_a_live_worker_is_left_alone_by_the_reaper(store: Store) -> None:
    lock = register_worker(store, "alive")
    try:
        job = make_job(store, S.RUNNING, worker="alive")
        assert store.reap(lease=3600, actor="reaper") == ReapReport()
        assert store.get_job(job.id).status == S.RUNNING  # type: ignore[union-attr]
    finally:
        lock.release()


def test_factory_cancelling_job_carries_who_asked_why_and_when(store: Store) -> None:
    job = make_job(store, S.CANCELLING, cancelled_by="alice", cancel_reason="not needed")
    assert (job.worker_id, job.cancelled_by, job.cancel_reason) == (
        WORKER, "alice", "not needed")
    assert job.cancel_requested_at is not None
    event = store.job_events(job.id)[-1]
    assert (event.kind, event.actor, event.reason) == ("cancel_requested", "alice",
                                                       "not needed")


def test_factory_backdates_every_timestamp_of_the_job_and_its_trail(store: Store) -> None:
    fresh = make_job(store, S.COMPLETED)
    old = make_job(store, S.COMPLETED, age=timedelta(days=3))
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    for moment in (old.created_at, old.run_at, old.started_at, old.finished_at,
                   old.heartbeat_at, *(e.at for e in store.job_events(old.id))):
        assert moment is not None
        assert abs((moment - three_days_ago).total_seconds()) < 60
    assert old.created_at <= old.started_at <= old.finished_at  # type: ignore[operator]
    day_ago = datetime.now(UTC) - timedelta(days=1)
    assert [j.id for j in store.list_jobs(JobFilter(created_before=day_ago))] == [old.id]
    assert store.prune_jobs(completed_before=day_ago, failed_before=day_ago) == 1
    assert store.get_job(old.id) is None and store.get_job(fresh.id) is not None


def test_factory_job_carries_its_batch_limit_key_unique_key_and_meta(store: Store) -> None:
    job = make_job(store, S.QUEUED, batch="crawl-1", limit_key="host", key_limit=1,
                   unique_key="page-1", meta={"crawl": 7})
    assert (job.batch_id, job.limit_key, job.key_limit, job.unique_key, job.meta) == (
        "crawl-1", "host", 1, "page-1", {"crawl": 7})
    make_job(store, S.COMPLETED, batch="crawl-1", queue="other")
    batch = store.get_batch("crawl-1")
    assert batch is not None and batch.total == 2
