"""The stores make exactly the moves of the state machine, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corral.job import JobError
from corral.outcome import Outcome
from corral.status import TRANSITIONS, JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job, new_job

S = JobStatus


def test_the_stores_make_exactly_the_moves_of_the_state_machine(store: Store) -> None:
    """Drive every operation once; the union of the trails is the TRANSITIONS table."""
    future = datetime.now(UTC) + timedelta(hours=1)
    seen: set[tuple[JobStatus | None, JobStatus]] = set()
    jobs = [
        make_job(store, S.COMPLETED), make_job(store, S.FAILED), make_job(store, S.CANCELLED),
    ]
    scheduled = make_job(store, S.SCHEDULED, run_at=future)
    store.cancel_jobs([scheduled.id], actor=None, reason=None)
    (soon,) = store.enqueue_jobs([new_job(run_at=datetime.now(UTC) + timedelta(seconds=0.1))])
    while not store.claim_jobs(WORKER, ["default"], 1):
        pass
    store.finish_jobs([Outcome.retry(soon.id, WORKER, 1, JobError("E", "m"), at=future)])
    forced = make_job(store, S.RUNNING)
    store.cancel_jobs([forced.id], actor=None, reason=None, force=True)
    forced_late = make_job(store, S.CANCELLING)
    store.cancel_jobs([forced_late.id], actor=None, reason=None, force=True)
    stopped = make_job(store, S.CANCELLING)
    store.finish_jobs([Outcome.cancelled(stopped.id, WORKER, 1)])
    too_late_ok = make_job(store, S.CANCELLING)
    store.finish_jobs([Outcome.completed(too_late_ok.id, WORKER, 1, None)])
    too_late_err = make_job(store, S.CANCELLING)
    store.finish_jobs([Outcome.failed(too_late_err.id, WORKER, 1, JobError("E", "m"))])
    orphan = make_job(store, S.RUNNING, worker="doomed", dead_worker=True,
                      max_attempts=2)  # a worker that died holding a job
    store.reap(lease=0, actor="reaper")
    store.restart_jobs([jobs[1].id, jobs[2].id], actor="ops", reason="again")
    made_due = make_job(store, S.SCHEDULED, run_at=future)
    store.run_now([made_due.id], actor="ops")
    jobs += [scheduled, soon, forced, forced_late, stopped, too_late_ok, too_late_err, orphan,
             made_due]
    for job in jobs:
        seen |= {(e.from_status, e.to_status) for e in store.job_events(job.id)
                 if e.to_status is not None}
    assert seen == TRANSITIONS
