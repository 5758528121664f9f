"""The Store contract for finish: outcomes, fencing, retries, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corral.job import JobError
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job
from tests.store.helpers import assert_trail_follows_state_machine

S = JobStatus


def test_finish_records_result_and_error(store: Store) -> None:
    ok = make_job(store, S.RUNNING)
    results = store.finish_jobs([Outcome.completed(ok.id, WORKER, 1, {"n": [1, "a"]},
                                                   phase="commit")])
    assert results[0].recorded and results[0].status == S.COMPLETED
    job = store.get_job(ok.id)
    assert job.result == {"n": [1, "a"]} and job.phase == "commit" and job.finished_at
    bad = make_job(store, S.RUNNING)
    store.finish_jobs([Outcome.failed(bad.id, WORKER, 1, JobError("KeyError", "x", "tb..."))])
    failed = store.get_job(bad.id)
    assert failed.status == S.FAILED
    assert failed.error == JobError("KeyError", "x", "tb...")
    assert [e.kind for e in store.job_events(bad.id)][-1] == "failed"
    assert_trail_follows_state_machine(store, bad.id)


def test_string_results_round_trip_as_json(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    store.finish_jobs([Outcome.completed(job.id, WORKER, 1, "plain text")])
    assert store.get_job(job.id).result == "plain text"


def test_retry_outcome_schedules_the_job_again(store: Store) -> None:
    job = make_job(store, S.RUNNING, max_attempts=3)
    at = datetime.now(UTC) + timedelta(minutes=5)
    store.finish_jobs([Outcome.retry(job.id, WORKER, 1, JobError("E", "m"), at=at)])
    again = store.get_job(job.id)
    assert again.status == S.SCHEDULED and again.worker_id is None
    assert abs((again.run_at - at).total_seconds()) < 0.01
    assert_trail_follows_state_machine(store, job.id)


def test_outcome_of_a_stale_attempt_or_other_worker_is_refused(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    refused = store.finish_jobs([
        Outcome.completed(job.id, "somebody-else", 1, "x"),
    ])
    assert not refused[0].recorded and refused[0].status == S.RUNNING
    stale = store.finish_jobs([Outcome.completed(job.id, WORKER, 2, "x")])
    assert not stale[0].recorded
    assert store.get_job(job.id).status == S.RUNNING
    assert [e.kind for e in store.job_events(job.id)][-2:] == ["outcome_refused"] * 2


def test_finished_job_never_changes_again(store: Store) -> None:
    job = make_job(store, S.COMPLETED)
    late = store.finish_jobs([Outcome.failed(job.id, WORKER, 1, JobError("E", "m"))])
    assert not late[0].recorded
    (change,) = store.cancel_jobs([job.id], actor="me", reason=None, force=True)
    assert not change.changed and change.to_status == S.COMPLETED
    assert store.get_job(job.id).status == S.COMPLETED


def test_a_cancelling_job_is_never_rescheduled(store: Store) -> None:
    job = make_job(store, S.CANCELLING, max_attempts=3)
    at = datetime.now(UTC) + timedelta(minutes=1)
    (result,) = store.finish_jobs([Outcome.retry(job.id, WORKER, 1, JobError("E", "m"), at=at)])
    assert not result.recorded and store.get_job(job.id).status == S.CANCELLING
