"""Recovery of jobs whose worker died: liveness locks, leases, racing reapers."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from corral.maintenance.reaper import CONFIRM_SLACK, Reaper
from corral.status import TRANSITIONS, JobStatus
from corral.store import Store, open_store
from corral.store.base import ReapReport, WorkerInfo
from corral.store.postgres import connection, liveness
from tests.factories import WORKER, make_job

S = JobStatus


def register(store: Store, worker_id: str = WORKER) -> object:
    lock = store.acquire_liveness(worker_id)
    store.register_worker(WorkerInfo(worker_id, __import__("socket").gethostname(), 1,
                                     ("default",), 4, "t"))
    return lock


def sight_free_lock(store: Store) -> None:
    """Let reapers trust a lock just released: PostgreSQL wants it seen free twice
    LOCK_CONFIRM apart (a live worker whose connection dropped takes it back meanwhile);
    SQLite trusts its file lock at once."""
    if store.url.startswith("postgresql"):
        first = store.reap(lease=3600, actor="probe")  # the first sighting
        assert first.dead_workers == () and first.recovered == 0
        assert first.confirm_in is not None  # when the reaper should look again
        assert 0 < first.confirm_in <= liveness.LOCK_CONFIRM
        time.sleep(first.confirm_in)


def test_a_live_worker_is_left_alone_however_long_its_jobs_run(store: Store) -> None:
    lock = register(store)
    job = make_job(store, S.RUNNING)
    assert store.reap(lease=60, actor="reaper") == ReapReport()
    assert store.get_job(job.id).status == S.RUNNING
    lock.release()  # type: ignore[attr-defined]


def test_reaper_requeues_running_jobs_of_a_worker_whose_lock_is_free(store: Store) -> None:
    lock = register(store)
    retry = make_job(store, S.RUNNING, max_attempts=2)
    last = make_job(store, S.RUNNING, max_attempts=1)
    stopping = make_job(store, S.CANCELLING, max_attempts=3)
    lock.release()  # type: ignore[attr-defined]  # the process is gone
    sight_free_lock(store)
    report = store.reap(lease=60, actor="reaper:x")
    assert report.dead_workers == (WORKER,)
    assert (report.requeued, report.failed, report.cancelled) == (
        (retry.id,), (last.id,), (stopping.id,))
    requeued = store.get_job(retry.id)
    assert requeued.status == S.QUEUED and requeued.worker_id is None
    failed = store.get_job(last.id)
    assert failed.status == S.FAILED and failed.error.type == "WorkerLost"
    assert store.get_job(stopping.id).status == S.CANCELLED
    assert store.list_workers()[0].state == "dead"
    event = store.job_events(retry.id)[-1]
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        "worker_lost", "reaper:x", S.RUNNING, S.QUEUED)
    for job in (retry, last, stopping):
        assert all((e.from_status, e.to_status) in TRANSITIONS
                   for e in store.job_events(job.id) if e.to_status)
    assert store.claim_jobs("other", ["default"], 5)[0].attempt == 2


def test_a_silent_worker_is_dead_after_the_lease_even_with_its_lock_held(
    store: Store,
) -> None:
    lock = register(store)
    job = make_job(store, S.RUNNING, max_attempts=2)
    time.sleep(0.05)
    report = store.reap(lease=0.01, actor="reaper")
    assert report.dead_workers == (WORKER,) and report.requeued == (job.id,)
    # the frozen worker wakes up: its late outcome is refused, its heartbeat revives it
    assert store.heartbeat(WORKER) == []
    assert store.list_workers()[0].state == "running"
    lock.release()  # type: ignore[attr-defined]


def test_racing_reapers_recover_each_job_once(db_url: str, store: Store) -> None:
    lock = register(store)
    jobs = [make_job(store, S.RUNNING, max_attempts=2) for _ in range(20)]
    lock.release()  # type: ignore[attr-defined]
    sight_free_lock(store)
    reports: list[ReapReport] = []

    def reap() -> None:
        own = open_store(db_url)
        reports.append(own.reap(lease=60, actor=threading.current_thread().name))
        own.close()

    threads = [threading.Thread(target=reap, name=f"reaper-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for r in reports for i in r.requeued) == sorted(j.id for j in jobs)
    for job in jobs:
        assert [e.kind for e in store.job_events(job.id)].count("worker_lost") == 1


def test_reset_stuck_fails_jobs_of_dead_workers_and_cancels_the_rest(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    alive = register(store, "alive")
    dead = register(store, "dead")
    live_job = make_job(store, S.RUNNING, worker="alive")
    dead_job = make_job(store, S.RUNNING, worker="dead", max_attempts=5)
    dead.release()  # type: ignore[attr-defined]
    sight_free_lock(store)
    time.sleep(0.01)
    cutoff = datetime.now(UTC)
    fresh = make_job(store, S.RUNNING, worker="alive")
    assert store.reset_stuck(cutoff - timedelta(hours=1), lease=60, actor="ops",
                             reason=None) == []
    changes = store.reset_stuck(cutoff, lease=60, actor="ops", reason="stuck for ages")
    assert {(c.job_id, c.to_status) for c in changes} == {
        (live_job.id, S.CANCELLING), (dead_job.id, S.FAILED)}
    assert store.get_job(dead_job.id).error.type == "WorkerLost"
    assert store.get_job(fresh.id).status == S.RUNNING
    assert store.job_events(live_job.id)[-1].reason == "stuck for ages"
    alive.release()  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_free_lock_seen_once_is_not_yet_death_on_postgres(store: Store) -> None:
    lock = register(store)
    job = make_job(store, S.RUNNING, max_attempts=1)
    lock.release()  # type: ignore[attr-defined]
    first = store.reap(lease=60, actor="reaper")  # maybe just reconnecting
    assert first.dead_workers == () and first.recovered == 0
    assert store.get_job(job.id).status == S.RUNNING
    assert first.confirm_in == pytest.approx(liveness.LOCK_CONFIRM, abs=0.05)
    time.sleep(first.confirm_in)  # when it says to look again, the death is proven
    assert store.reap(lease=60, actor="reaper").failed == (job.id,)  # still free: dead


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_worker_whose_sessions_are_terminated_takes_its_lock_back_and_keeps_its_jobs(
    store: Store, db_url: str,
) -> None:
    lock = register(store)
    job = make_job(store, S.RUNNING, max_attempts=1)
    target = connection.parse(db_url)
    deadline = time.monotonic() + 3 * liveness.LOCK_CONFIRM
    rounds = 0
    while time.monotonic() < deadline:  # terminate, reap, terminate...: never dead
        with psycopg.connect(target.conninfo, autocommit=True) as admin:
            rounds += len(admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s", (target.application_name,)).fetchall())
        report = store.reap(lease=60, actor="reaper")
        assert report.dead_workers == () and report.recovered == 0
        time.sleep(0.1)
    assert rounds > 10
    assert store.get_job(job.id).status == S.RUNNING
    assert store.list_workers()[0].state == "running"
    assert lock.unconfirmed_for(time.monotonic()) < liveness.FENCE_AFTER  # type: ignore[attr-defined]
    lock.release()  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_reaper_confirms_a_free_lock_as_soon_as_it_may_not_a_pass_later(
        store: Store) -> None:
    lock = register(store)
    job = make_job(store, S.RUNNING, max_attempts=1)
    reaper = Reaper(store, lease=60, heartbeat_interval=5, actor="reaper")
    lock.release()  # type: ignore[attr-defined]
    waits = []
    deadline = time.monotonic() + 10
    while not reaper.run_once().failed:  # the passes the reaper's own loop would make
        assert time.monotonic() < deadline, "the free lock was never confirmed"
        waits.append(reaper.next_wait())
        time.sleep(waits[-1])
    assert store.get_job(job.id).status == S.FAILED
    # the confirming pass came early, when the second sighting was due, not on the
    # regular grid (0.25 s +-10%: the third pass at 0.675-0.825 s, up to a pass late)
    assert waits[-1] < reaper.interval * (1 - reaper.jitter)
    assert sum(waits) <= liveness.LOCK_CONFIRM + CONFIRM_SLACK
