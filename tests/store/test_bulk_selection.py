"""Bulk requests by filter: the store matches the filter in SQL inside the request's own
transaction, and answers per job in listing order (newest first), on every backend."""

from __future__ import annotations

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter
from tests.factories import make_job

S = JobStatus


def test_cancel_by_filter_covers_exactly_the_matching_jobs(store: Store) -> None:
    mine = [make_job(store, S.RUNNING, queue="crawl"), make_job(store, S.COMPLETED, queue="crawl"),
            make_job(store, S.QUEUED, queue="crawl")]
    other = make_job(store, S.QUEUED, queue="mail")
    changes = store.cancel_jobs(JobFilter(queue="crawl"), actor="ops", reason="stop")
    assert [c.job_id for c in changes] == [job.id for job in reversed(mine)]
    assert [(c.from_status, c.to_status, c.changed) for c in changes] == [
        (S.QUEUED, S.CANCELLED, True), (S.COMPLETED, S.COMPLETED, False),
        (S.RUNNING, S.CANCELLING, True)]
    assert store.get_job(other.id).status == S.QUEUED
    assert [e.kind for e in store.job_events(mine[2].id)][-1] == "cancelled"


def test_restart_and_delete_by_filter(store: Store) -> None:
    failed = make_job(store, S.FAILED, queue="q")
    done = make_job(store, S.COMPLETED, queue="q")
    running = make_job(store, S.RUNNING, queue="q")
    (restart,) = store.restart_jobs(JobFilter(queue="q", statuses=(S.FAILED,)), actor="ops",
                                    reason=None)
    assert (restart.job_id, restart.to_status) == (failed.id, S.QUEUED)
    deletions = store.delete_jobs(JobFilter(queue="q"))
    assert {(d.job_id, d.deleted) for d in deletions} == {
        (failed.id, False), (done.id, True), (running.id, False)}
    assert store.get_job(done.id) is None and store.get_job(running.id) is not None


def test_a_filter_matching_nothing_changes_nothing(store: Store) -> None:
    job = make_job(store, S.QUEUED)
    assert store.cancel_jobs(JobFilter(queue="nowhere"), actor="a", reason=None) == []
    assert store.get_job(job.id).status == S.QUEUED
