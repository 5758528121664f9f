"""The Store contract for finish: outcomes, fencing, retries, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corral.job import JobError
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import ProgressUpdate
from tests.factories import WORKER, make_job, new_job
from tests.store.helpers import (
    assert_trail_follows_state_machine,
    by_id,
    planned,
    unbounded_reads,
    without_autovacuum,
)

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


def test_one_call_mixing_plain_cancelling_and_refused_outcomes(store: Store) -> None:
    """Plain running jobs take the one-statement path, the rest the locked one; each job
    gets exactly one trail row for its outcome, with the status it really left."""
    plain = make_job(store, S.RUNNING)
    retried = make_job(store, S.RUNNING, max_attempts=2)
    cancelling = make_job(store, S.RUNNING)
    store.cancel_jobs([cancelling.id], actor="ops", reason="stop")
    stopped = make_job(store, S.RUNNING)
    store.cancel_jobs([stopped.id], actor="ops", reason="enough")
    taken = make_job(store, S.RUNNING)
    at = datetime.now(UTC) + timedelta(minutes=1)
    results = store.finish_jobs([
        Outcome.completed(plain.id, WORKER, 1, 7),
        Outcome.retry(retried.id, WORKER, 1, JobError("E", "m"), at=at),
        Outcome.completed(cancelling.id, WORKER, 1, 8),
        Outcome.cancelled(stopped.id, WORKER, 1, phase="p", reason=None),
        Outcome.completed(taken.id, WORKER, 2, 9),
    ])
    assert [(r.job_id, r.recorded, r.status) for r in results] == [
        (plain.id, True, S.COMPLETED), (retried.id, True, S.SCHEDULED),
        (cancelling.id, True, S.COMPLETED), (stopped.id, True, S.CANCELLED),
        (taken.id, False, S.RUNNING)]
    last = {job.id: store.job_events(job.id)[-1]
            for job in (plain, retried, cancelling, stopped, taken)}
    assert (last[plain.id].kind, last[plain.id].from_status, last[plain.id].to_status) == (
        "completed", S.RUNNING, S.COMPLETED)
    assert last[retried.id].kind == "retry_scheduled"
    assert last[retried.id].data["run_at"] == at.isoformat()
    assert last[cancelling.id].from_status == S.CANCELLING
    assert last[cancelling.id].data.get("cancel_too_late") is True
    assert last[stopped.id].kind == "cancelled" and last[stopped.id].reason == "enough"
    assert "latency_ms" in last[stopped.id].data
    assert last[taken.id].kind == "outcome_refused"
    for job in (plain, retried, cancelling, stopped):
        kinds = [e.kind for e in store.job_events(job.id)]
        assert sum(k in ("completed", "retry_scheduled", "cancelled") for k in kinds) == 1
        assert_trail_follows_state_machine(store, job.id)


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "never-analyzed"])
def test_outcomes_and_progress_find_their_jobs_by_id_however_many_jobs_run(
    store: Store, analyzed: bool,
) -> None:
    """Outcome and progress records find their jobs by id. Through the status index,
    every running job of every worker was read for each write (SQLite: matched against
    every record, a drain with four worker processes ran at half the speed of one;
    PostgreSQL: 2,020 running jobs hashed for 20 progress reports; and on a table not
    yet analyzed, the running jobs' index entries, dead ones included, ANDed with the
    held ones: 9,224 entries read for each outcome write of a 20,000-job drain)."""
    without_autovacuum(store)
    others = store.enqueue_jobs([new_job() for _ in range(2000)])
    for n in range(20):
        store.claim_jobs(f"w{n}", ["default"], 100)
    mine = [make_job(store, S.RUNNING) for _ in range(5)]
    for query in ("finish_running", "finish_jobs", "record_progress"):
        plan = planned(store, query, analyzed=analyzed, ids=[job.id for job in mine],
                       rows="[]", events="[]")
        assert "jobs_status" not in plan and "jobs_held" not in plan, (query, plan)
        assert by_id(store) in plan, (query, plan)
    assert store.record_progress([ProgressUpdate(job.id, WORKER, 1, "half", 1, 2, None)
                                  for job in mine]) == []
    results = store.finish_jobs([Outcome.completed(job.id, WORKER, 1, n)
                                 for n, job in enumerate(mine)])
    assert [(r.recorded, r.status) for r in results] == [(True, S.COMPLETED)] * 5
    assert [store.get_job(job.id).result for job in mine] == list(range(5))
    assert store.job_counts(datetime.now(UTC))["running"] == len(others) == 2000


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "never-analyzed"])
def test_a_held_jobs_notes_and_a_batchs_check_read_only_their_own_jobs(
    store: Store, analyzed: bool,
) -> None:
    """A partial result, a stall or unresponsive mark find their job by id, and the check
    for a finished batch reads that batch's jobs. On a table not yet analyzed,
    PostgreSQL's generic plans walked every job the worker held, or every active job of
    every batch, each time."""
    without_autovacuum(store)
    store.enqueue_jobs([new_job() for _ in range(2000)])
    for n in range(10):
        store.claim_jobs(f"w{n}", ["default"], 100)
    for query in ("save_result", "mark_stalled", "mark_unresponsive"):
        plan = planned(store, query, analyzed=analyzed, id=None, worker_id=None,
                       attempt=None, result=None, now=None)
        assert unbounded_reads(plan) == [] and by_id(store) in plan, (query, plan)
        assert "jobs_held" not in plan, (query, plan)
    plan = planned(store, "any_finished_batch", analyzed=analyzed)
    assert unbounded_reads(plan) == [] and "jobs_status" not in plan, plan
