"""The Store contract for restart, on every backend."""

from __future__ import annotations

import pytest

from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job

S = JobStatus


def test_restart_requeues_failed_and_cancelled_jobs_under_the_same_id(store: Store) -> None:
    failed = make_job(store, S.FAILED, max_attempts=1)
    cancelled = make_job(store, S.CANCELLED)
    changes = store.restart_jobs([failed.id, cancelled.id], actor="ops", reason="fixed")
    assert {(c.from_status, c.to_status) for c in changes} == {
        (S.FAILED, S.QUEUED), (S.CANCELLED, S.QUEUED)}
    again = store.get_job(failed.id)
    assert again.status == S.QUEUED and again.error is None and again.attempts_left == 1
    assert store.get_job(cancelled.id).cancel_requested_at is None
    event = store.job_events(failed.id)[-1]
    assert (event.kind, event.actor, event.reason) == ("restarted", "ops", "fixed")
    claimed = {job.id: job for job in store.claim_jobs(WORKER, ["default"], 5)}
    assert claimed[failed.id].attempt == 2, "attempt keeps counting: old runs stay fenced"
    stale = store.finish_jobs([Outcome.completed(failed.id, WORKER, 1, "old life")])
    assert not stale[0].recorded


@pytest.mark.parametrize("status", [S.QUEUED, S.RUNNING, S.CANCELLING, S.COMPLETED])
def test_restart_refuses_active_and_completed_jobs(store: Store, status: JobStatus) -> None:
    job = make_job(store, status)
    (change,) = store.restart_jobs([job.id], actor=None, reason=None)
    assert not change.changed and store.get_job(job.id).status == status
