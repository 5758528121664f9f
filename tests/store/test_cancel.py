"""The Store contract for cancel: pending, running, forced and racing cancels, on every backend."""

from __future__ import annotations

import pytest

from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import Notification, WorkerInfo
from tests.factories import WORKER, make_job
from tests.store.helpers import assert_trail_follows_state_machine, listen_for, statuses

S = JobStatus


@pytest.mark.parametrize("status", [S.QUEUED])
def test_cancel_pending_job_ends_it_at_once(store: Store, status: JobStatus) -> None:
    job = make_job(store, status)
    (change,) = store.cancel_jobs([job.id], actor="alice", reason="not needed")
    assert (change.from_status, change.to_status) == (S.QUEUED, S.CANCELLED)
    cancelled = store.get_job(job.id)
    assert cancelled.status == S.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == ("alice", "not needed")
    assert cancelled.cancel_requested_at and cancelled.finished_at
    assert store.claim_jobs(WORKER, ["default"], 10) == []
    event = store.job_events(job.id)[-1]
    assert (event.kind, event.actor, event.reason) == ("cancelled", "alice", "not needed")


def test_cancel_scheduled_job_ends_it_at_once(store: Store) -> None:
    job = make_job(store, S.SCHEDULED)
    (change,) = store.cancel_jobs([job.id], actor="a", reason=None)
    assert (change.from_status, change.to_status) == (S.SCHEDULED, S.CANCELLED)
    assert_trail_follows_state_machine(store, job.id)


def test_cancel_running_job_asks_its_worker(store: Store) -> None:
    listener = store.open_listener()
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t",
                                     listener.address))
    job = make_job(store, S.RUNNING)
    (change,) = store.cancel_jobs([job.id], actor="bob", reason="stop")
    assert (change.from_status, change.to_status, change.worker_id) == (
        S.RUNNING, S.CANCELLING, WORKER)
    note = listen_for(listener, lambda n: n.channel == "cancel")
    assert (note.worker_id, note.job_ids, note.force) == (WORKER, (job.id,), False)
    listener.close()
    assert [h.status for h in store.heartbeat(WORKER)] == [S.CANCELLING]
    assert store.job_events(job.id)[-1].kind == "cancel_requested"


def test_worker_stops_cancelling_job_and_keeps_phase_and_partial_result(store: Store) -> None:
    job = make_job(store, S.CANCELLING)
    assert store.save_result(job.id, WORKER, 1, {"partial": 3})
    store.finish_jobs([Outcome.cancelled(job.id, WORKER, 1, phase="digest")])
    done = store.get_job(job.id)
    assert (done.status, done.phase, done.result) == (S.CANCELLED, "digest", {"partial": 3})
    event = store.job_events(job.id)[-1]
    assert event.kind == "cancelled" and event.data["was_in_phase"] == "digest"
    assert event.data["latency_ms"] >= 0 and event.reason == "factory"
    assert_trail_follows_state_machine(store, job.id)


def test_force_cancel_ends_running_and_cancelling_jobs_and_fences_the_worker(
    store: Store,
) -> None:
    running = make_job(store, S.RUNNING)
    cancelling = make_job(store, S.CANCELLING)
    changes = store.cancel_jobs([running.id, cancelling.id], actor="ops", reason="hung",
                                force=True)
    assert {(c.from_status, c.to_status) for c in changes} == {
        (S.RUNNING, S.CANCELLED), (S.CANCELLING, S.CANCELLED)}
    late = store.finish_jobs([Outcome.completed(running.id, WORKER, 1, "late")])
    assert not late[0].recorded
    assert statuses(store, running.id, cancelling.id) == [S.CANCELLED, S.CANCELLED]
    assert store.heartbeat(WORKER) == []


def test_completion_racing_a_cancel_ends_in_what_really_happened(store: Store) -> None:
    job = make_job(store, S.CANCELLING)
    store.finish_jobs([Outcome.completed(job.id, WORKER, 1, "done anyway")])
    done = store.get_job(job.id)
    assert done.status == S.COMPLETED and done.cancel_requested_at is not None
    kinds = [(e.kind, e.data.get("cancel_too_late")) for e in store.job_events(job.id)]
    assert ("cancel_requested", None) in kinds and kinds[-1] == ("completed", True)
    assert_trail_follows_state_machine(store, job.id)


def test_cancel_reports_unknown_ids_by_leaving_them_out(store: Store) -> None:
    job = make_job(store, S.QUEUED)
    changes = store.cancel_jobs([job.id, "nope"], actor=None, reason=None)
    assert [c.job_id for c in changes] == [job.id]


@pytest.mark.parametrize("count", [3, 150])
def test_a_listed_cancel_of_few_or_many_jobs_reads_the_same(store: Store, count: int) -> None:
    """PostgreSQL cancels up to 100 listed jobs in one statement and more in a
    transaction: both give every known job's change in the order listed, a trail row per
    job moved, and one stop request naming every running job for its worker."""
    listener = store.open_listener()
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t",
                                     listener.address))
    running = [make_job(store, S.RUNNING).id for _ in range(count)]
    done = make_job(store, S.COMPLETED).id
    queued = make_job(store, S.QUEUED).id
    listed = [queued, "no-such-job", *running, done, queued]
    changes = store.cancel_jobs(listed, actor="ops", reason="batch stop")
    assert [c.job_id for c in changes] == [queued, *running, done]  # each once
    assert [(c.from_status, c.to_status) for c in changes[1:-1]] == [
        (S.RUNNING, S.CANCELLING)] * count
    assert (changes[0].from_status, changes[0].to_status) == (S.QUEUED, S.CANCELLED)
    assert changes[-1].changed is False and changes[-1].to_status == S.COMPLETED
    assert changes[0].job is not None and changes[0].job.cancelled_by == "ops"
    for job_id in (queued, running[0], running[-1]):
        event = store.job_events(job_id)[-1]
        assert (event.actor, event.reason) == ("ops", "batch stop")
        assert_trail_follows_state_machine(store, job_id)
    told: set[str] = set()

    def hears_all(note: Notification) -> bool:
        if note.channel == "cancel":
            assert note.worker_id == WORKER and not note.force
            told.update(note.job_ids)
        return told >= set(running)

    listen_for(listener, hears_all)
    listener.close()
    assert told == set(running)
