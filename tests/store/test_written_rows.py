"""A request returns the job as its guarded statement wrote it, not a later read: a worker
that moves the job on right after (finishes it, claims it again) cannot make the answer
to "what did my cancel / restart / run-now do" lie. And the trail's statuses are the ones
the SQL wrote, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job

S = JobStatus


def test_cancel_returns_the_row_it_wrote_though_the_worker_finishes_at_once(
        store: Store) -> None:
    job = make_job(store, S.RUNNING)
    (change,) = store.cancel_jobs([job.id], actor="alice", reason="enough")
    store.finish_jobs([Outcome.completed(job.id, WORKER, 1, 42)])  # too late, but first
    assert store.get_job(job.id).status == S.COMPLETED
    written = change.job
    assert written is not None
    assert (written.status, written.cancelled_by, written.cancel_reason) == (
        S.CANCELLING, "alice", "enough")
    assert written.cancel_requested_at is not None and written.result is None


def test_restart_and_run_now_return_the_rows_they_wrote_though_a_worker_claims_them(
        store: Store) -> None:
    failed = make_job(store, S.FAILED)
    (restarted,) = store.restart_jobs([failed.id], actor="ops", reason="again")
    later = make_job(store, S.SCHEDULED, run_at=datetime.now(UTC) + timedelta(hours=1))
    (made_due,) = store.run_now([later.id], actor="ops")
    assert {job.id for job in store.claim_jobs(WORKER, ["default"], 10)} == {
        failed.id, later.id}
    for change in (restarted, made_due):
        assert change.job is not None
        assert (change.job.status, change.job.worker_id) == (S.QUEUED, None)
        assert change.to_status == S.QUEUED


def test_a_request_that_changes_nothing_carries_no_row(store: Store) -> None:
    done = make_job(store, S.COMPLETED)
    (change,) = store.cancel_jobs([done.id], actor="a", reason=None)
    assert not change.changed and change.job is None
    assert change.to_status == S.COMPLETED


def test_trail_statuses_are_the_statuses_the_statements_wrote(store: Store) -> None:
    """Every trail row's to_status is the job's status right after that row was written
    (read back by replaying the trail against the final row)."""
    job = make_job(store, S.RUNNING)
    store.cancel_jobs([job.id], actor="a", reason=None)
    store.finish_jobs([Outcome.cancelled(job.id, WORKER, 1)])
    store.restart_jobs([job.id], actor="a", reason=None)
    moves = [(e.from_status, e.to_status) for e in store.job_events(job.id)
             if e.to_status is not None]
    assert moves[-3:] == [(S.RUNNING, S.CANCELLING), (S.CANCELLING, S.CANCELLED),
                          (S.CANCELLED, S.QUEUED)]
    assert moves[-1][1] == store.get_job(job.id).status
