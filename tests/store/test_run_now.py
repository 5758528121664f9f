"""The Store contract for run now, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corral.job import JobError
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job
from tests.store.helpers import assert_trail_follows_state_machine, statuses

S = JobStatus


def test_run_now_makes_a_scheduled_job_due_at_once_with_its_trail_row(store: Store) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    delayed = make_job(store, S.SCHEDULED, run_at=future)
    backoff = make_job(store, S.RUNNING, max_attempts=3)
    store.finish_jobs([Outcome.retry(backoff.id, WORKER, 1, JobError("E", "m"), at=future)])
    assert statuses(store, delayed.id, backoff.id) == [S.SCHEDULED, S.SCHEDULED]
    changes = store.run_now([delayed.id, backoff.id, "no-such-job"], actor="ops")
    assert {(c.job_id, c.from_status, c.to_status) for c in changes} == {
        (delayed.id, S.SCHEDULED, S.QUEUED), (backoff.id, S.SCHEDULED, S.QUEUED)}
    for job_id in (delayed.id, backoff.id):
        job = store.get_job(job_id)
        assert job.status == S.QUEUED and job.run_at <= datetime.now(UTC)
        event = store.job_events(job_id)[-1]
        assert (event.kind, event.actor, event.from_status, event.to_status) == (
            "run_now", "ops", S.SCHEDULED, S.QUEUED)
        assert_trail_follows_state_machine(store, job_id)
    claimed = {job.id for job in store.claim_jobs(WORKER, ["default"], 5)}
    assert claimed == {delayed.id, backoff.id}


@pytest.mark.parametrize("status", [S.QUEUED, S.RUNNING, S.CANCELLING, S.COMPLETED,
                                    S.FAILED, S.CANCELLED])
def test_run_now_leaves_a_job_that_is_not_scheduled_as_it_is(store: Store,
                                                              status: JobStatus) -> None:
    job = make_job(store, status)
    trail = store.job_events(job.id)
    (change,) = store.run_now([job.id], actor="ops")
    assert not change.changed and change.to_status == status
    assert store.get_job(job.id) == job and store.job_events(job.id) == trail
