"""The Store contract: every transition, guard, fence and query, on every backend."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from corral import errors
from corral.job import JobError
from corral.outcome import Outcome
from corral.status import TRANSITIONS, JobStatus
from corral.store import Store
from corral.store.base import (
    JobFilter,
    Listener,
    NewEvent,
    Notification,
    ProgressUpdate,
    WorkerInfo,
)
from tests.factories import WORKER, make_job, new_job

S = JobStatus


def statuses(store: Store, *ids: str) -> list[JobStatus]:
    return [store.get_job(i).status for i in ids]  # type: ignore[union-attr]


def assert_trail_follows_state_machine(store: Store, job_id: str) -> None:
    for event in store.job_events(job_id):
        if event.to_status is not None:
            assert (event.from_status, event.to_status) in TRANSITIONS, event


def test_enqueue_many_inserts_all_in_one_transaction(store: Store) -> None:
    jobs = store.enqueue_jobs([new_job(args=[i]) for i in range(50)], actor="me")
    assert len(jobs) == 50 and all(job.status == S.QUEUED for job in jobs)
    events = store.job_events(jobs[0].id)
    assert [(e.kind, e.actor, e.to_status) for e in events] == [("enqueued", "me", S.QUEUED)]


def test_enqueue_many_is_all_or_nothing(store: Store) -> None:
    first = new_job()
    with pytest.raises(Exception):  # noqa: B017 - the backend's integrity error
        store.enqueue_jobs([new_job(), first, first])
    assert store.list_jobs(JobFilter()) == []


def test_enqueue_in_the_future_is_scheduled_and_promoted_when_due(store: Store) -> None:
    (later,) = store.enqueue_jobs([new_job(run_at=datetime.now(UTC) + timedelta(hours=1))])
    (soon,) = store.enqueue_jobs([new_job(run_at=datetime.now(UTC) + timedelta(seconds=0.2))])
    assert later.status == soon.status == S.SCHEDULED
    assert store.claim_jobs(WORKER, ["default"], 10) == []
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    claimed = []
    while not claimed and datetime.now(UTC) < deadline:
        claimed = store.claim_jobs(WORKER, ["default"], 10)
    assert [job.id for job in claimed] == [soon.id]
    assert [e.kind for e in store.job_events(soon.id)] == ["enqueued", "due", "claimed"]
    assert statuses(store, later.id) == [S.SCHEDULED]
    assert_trail_follows_state_machine(store, soon.id)


def test_claim_takes_highest_priority_then_oldest_up_to_limit(store: Store) -> None:
    low, high, low2, other = store.enqueue_jobs([
        new_job(priority=0), new_job(priority=5), new_job(priority=0), new_job(queue="other"),
    ])
    claimed = store.claim_jobs(WORKER, ["default"], 2)
    assert [job.id for job in claimed] == [high.id, low.id]
    assert all(job.status == S.RUNNING and job.worker_id == WORKER and job.attempt == 1
               for job in claimed)
    assert [job.id for job in store.claim_jobs(WORKER, ["default", "other"], 5)] == [
        low2.id, other.id]
    assert store.claim_jobs(WORKER, ["default", "other"], 5) == []


def test_racing_claimers_never_claim_the_same_job(db_url: str) -> None:
    from corral.store import open_store

    setup = open_store(db_url)
    setup.migrate()
    setup.enqueue_jobs([new_job() for _ in range(300)])
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        own = open_store(db_url)
        while batch := own.claim_jobs(name, ["default"], 7):
            with lock:
                claimed.extend(job.id for job in batch)
        own.close()

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 300
    setup.close()


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
    (job,) = store.enqueue_jobs([new_job(run_at=datetime.now(UTC) + timedelta(hours=1))])
    (change,) = store.cancel_jobs([job.id], actor="a", reason=None)
    assert (change.from_status, change.to_status) == (S.SCHEDULED, S.CANCELLED)
    assert_trail_follows_state_machine(store, job.id)


def listen_for(listener: Listener, wanted: Callable[[Notification], bool]) -> Notification:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for note in listener.wait(timeout=0.5):
            if wanted(note):
                return note
    raise AssertionError("no such notification within 10 s")


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


def test_progress_is_fenced_and_reports_refused_jobs(store: Store) -> None:
    held = make_job(store, S.RUNNING)
    gone = make_job(store, S.COMPLETED)
    refused = store.record_progress([
        ProgressUpdate(held.id, WORKER, 1, "ingest", 3, 10, "three"),
        ProgressUpdate(gone.id, WORKER, 1, "ingest", 3, 10, "three"),
    ])
    assert refused == [gone.id]
    job = store.get_job(held.id)
    assert (job.phase, job.progress.current, job.progress.total, job.progress.message) == (
        "ingest", 3, 10, "three")
    assert job.progress.ratio == pytest.approx(0.3)
    assert [e.kind for e in store.job_events(held.id)] == ["enqueued", "claimed"]


def test_save_result_is_refused_once_the_job_is_gone(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    store.cancel_jobs([job.id], actor=None, reason=None, force=True)
    assert not store.save_result(job.id, WORKER, 1, {"partial": True})


def test_notes_go_to_the_trail_without_changing_status(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    store.add_events([NewEvent(job.id, "phase", actor=WORKER, data={"phase": "digest"})])
    event = store.job_events(job.id)[-1]
    assert (event.kind, event.data, event.to_status) == ("phase", {"phase": "digest"}, None)


def test_list_jobs_filters(store: Store) -> None:
    queued = make_job(store, S.QUEUED, queue="a")
    done = make_job(store, S.COMPLETED, queue="b")
    assert [j.id for j in store.list_jobs(JobFilter(statuses=(S.COMPLETED,)))] == [done.id]
    assert [j.id for j in store.list_jobs(JobFilter(queue="a"))] == [queued.id]
    assert [j.id for j in store.list_jobs(JobFilter())] == [done.id, queued.id]
    assert store.list_jobs(JobFilter(task="other")) == []


def test_heartbeat_refreshes_worker_and_returns_held_jobs(store: Store) -> None:
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 2, "t", "127.0.0.1:9"))
    first = store.list_workers()[0].last_seen
    job = make_job(store, S.RUNNING)
    held = store.heartbeat(WORKER)
    assert [(h.job_id, h.status, h.attempt) for h in held] == [(job.id, S.RUNNING, 1)]
    assert store.list_workers()[0].last_seen >= first
    assert store.get_job(job.id).heartbeat_at is not None
    store.deregister_worker(WORKER)
    assert store.list_workers()[0].state == "stopped"


def test_enqueue_wakes_listeners_of_workers_on_that_queue(store: Store) -> None:
    listener = store.open_listener()
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 1, "t",
                                     listener.address))
    store.enqueue_jobs([new_job(queue="default")])
    note = listen_for(listener, lambda n: n.channel == "jobs")
    assert note.queue == "default"
    listener.close()


def test_sqlite_outbox_is_read_after_the_last_seen_id_and_pruned(sqlite_store: Store) -> None:
    store = sqlite_store
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 2, "t"))
    start = store.last_notification_id()
    a, b = make_job(store, S.RUNNING), make_job(store, S.RUNNING)
    store.cancel_jobs([a.id], actor=None, reason=None)
    first = store.read_notifications(start)
    store.cancel_jobs([b.id], actor=None, reason=None, force=True)
    second = store.read_notifications(first[-1].id)
    assert [(n.job_ids, n.force) for n in second] == [((b.id,), True)]
    assert store.prune_notifications(datetime.now(UTC) + timedelta(seconds=1)) == 2
    assert store.read_notifications(start) == []
    assert store.last_notification_id() == second[-1].id


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.migrate() == store.migrate()


def test_job_json_fields_survive(store: Store) -> None:
    job = new_job(args=[{"a": [1, 2.5, None, True]}, "ü"])
    store.enqueue_jobs([job])
    assert store.get_job(job.id).args == json.loads(json.dumps(job.args))


def test_the_stores_make_exactly_the_moves_of_the_state_machine(store: Store) -> None:
    """Drive every operation once; the union of the trails is the TRANSITIONS table."""
    future = datetime.now(UTC) + timedelta(hours=1)
    seen: set[tuple[JobStatus | None, JobStatus]] = set()
    jobs = [
        make_job(store, S.COMPLETED), make_job(store, S.FAILED), make_job(store, S.CANCELLED),
    ]
    (scheduled,) = store.enqueue_jobs([new_job(run_at=future)])
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
    store.acquire_liveness("doomed").release()  # a worker that died holding a job
    store.register_worker(WorkerInfo("doomed", "elsewhere", 1, ("default",), 1, "t"))
    orphan = make_job(store, S.RUNNING, worker="doomed", max_attempts=2)
    store.reap(lease=0, actor="reaper")
    store.restart_jobs([jobs[1].id, jobs[2].id], actor="ops", reason="again")
    (made_due,) = store.enqueue_jobs([new_job(run_at=future)])
    store.run_now([made_due.id], actor="ops")
    jobs += [scheduled, soon, forced, forced_late, stopped, too_late_ok, too_late_err, orphan,
             made_due]
    for job in jobs:
        seen |= {(e.from_status, e.to_status) for e in store.job_events(job.id)
                 if e.to_status is not None}
    assert seen == TRANSITIONS


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


def test_released_job_goes_back_to_the_queue_without_spending_an_attempt(store: Store) -> None:
    job = make_job(store, S.RUNNING, max_attempts=1)
    assert store.release_jobs("not-me", [job.id], reason="shutdown") == []
    assert store.release_jobs(WORKER, [job.id], reason="shutdown") == [job.id]
    released = store.get_job(job.id)
    assert released.status == S.QUEUED and released.attempts_left == 1
    assert store.job_events(job.id)[-1].kind == "released"
    assert store.claim_jobs(WORKER, ["default"], 1)[0].attempt == 2


def test_a_cancelling_job_is_never_rescheduled(store: Store) -> None:
    job = make_job(store, S.CANCELLING, max_attempts=3)
    at = datetime.now(UTC) + timedelta(minutes=1)
    (result,) = store.finish_jobs([Outcome.retry(job.id, WORKER, 1, JobError("E", "m"), at=at)])
    assert not result.recorded and store.get_job(job.id).status == S.CANCELLING


def test_text_with_a_nul_character_is_stored_or_refused_as_bad_input(store: Store) -> None:
    """SQLite keeps a NUL character; PostgreSQL cannot, and says so as a typed error (an
    HTTP 422, a CLI usage error), never a crash."""
    where = JobFilter(queue="a\x00b")
    if store.url.startswith("postgresql"):
        with pytest.raises(errors.InvalidArguments, match="NUL"):
            store.list_jobs(where)
    else:
        assert store.list_jobs(where) == []


def test_run_now_makes_a_scheduled_job_due_at_once_with_its_trail_row(store: Store) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    (delayed,) = store.enqueue_jobs([new_job(run_at=future)])
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


def test_run_now_wakes_the_workers_of_the_queue(store: Store) -> None:
    (delayed,) = store.enqueue_jobs([new_job(queue="later",
                                             run_at=datetime.now(UTC) + timedelta(hours=1))])
    listener = store.open_listener()
    try:
        store.register_worker(WorkerInfo("listening", "here", 1, ("later",), 1, "t",
                                         listener.address))
        store.run_now([delayed.id], actor="ops")
        listen_for(listener, lambda n: n.channel == "jobs" and n.queue == "later")
    finally:
        listener.close()
