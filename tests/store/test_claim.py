"""The Store contract for claim and release: order, limits, racing claimers, on every backend."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from corral.status import JobStatus
from corral.store import Store
from tests.factories import WORKER, make_job, new_job
from tests.store.helpers import by_id, planned, unbounded_reads, without_autovacuum

S = JobStatus


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


def test_released_job_goes_back_to_the_queue_without_spending_an_attempt(store: Store) -> None:
    job = make_job(store, S.RUNNING, max_attempts=1)
    assert store.release_jobs("not-me", [job.id], reason="shutdown") == []
    assert store.release_jobs(WORKER, [job.id], reason="shutdown") == [job.id]
    released = store.get_job(job.id)
    assert released.status == S.QUEUED and released.attempts_left == 1
    assert store.job_events(job.id)[-1].kind == "released"
    assert store.claim_jobs(WORKER, ["default"], 1)[0].attempt == 2


def test_sqlite_writes_a_claims_trail_rows_without_reading_every_held_job(
    sqlite_store: Store,
) -> None:
    """The "claimed" rows are found as this worker's held jobs started at the claim's time:
    a probe of jobs_held on both, not a read of every job the worker holds (a claim took
    0.5 ms with 1,000 held and 1.9 ms with 12,000)."""
    trail_rows = planned(sqlite_store, "claim_jobs").splitlines()[-1]  # its last statement
    assert trail_rows == "SEARCH jobs USING INDEX jobs_held (worker_id=? AND started_at=?)"
    sqlite_store.enqueue_jobs([new_job() for _ in range(30)])
    first = sqlite_store.claim_jobs(WORKER, ["default"], 20)
    second = sqlite_store.claim_jobs(WORKER, ["default"], 20)
    assert (len(first), len(second)) == (20, 10)
    for job in first + second:
        assert [e.kind for e in sqlite_store.job_events(job.id)] == ["enqueued", "claimed"]


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "never-analyzed"])
def test_a_claim_reads_only_the_jobs_it_takes_however_many_wait(
    store: Store, analyzed: bool,
) -> None:
    """The claim walks the due jobs and updates the chosen ones through the primary key.
    PostgreSQL's generic plan (a worker's) guessed the claim's LIMIT at a tenth of the
    queue and read the whole table for it once statistics existed (19 ms a claim with
    100,000 jobs queued), and read every scheduled job when one was due (23.8 ms with
    100,000 scheduled). Before the first analyze too."""
    without_autovacuum(store)
    store.enqueue_jobs([new_job(priority=n % 3) for n in range(10_000)]
                       + [new_job(run_at=datetime.now(UTC) + timedelta(hours=1))
                          for _ in range(2_000)])
    plan = planned(store, "claim_jobs", analyzed=analyzed, worker_id=WORKER,
                   queues=["default"], limit=20)
    assert unbounded_reads(plan) == [] and by_id(store) in plan, plan
    claimed = store.claim_jobs(WORKER, ["default"], 20)
    assert [job.priority for job in claimed] == [2] * 20


def test_sqlite_looks_up_due_jobs_and_held_keys_in_their_own_indexes(
    sqlite_store: Store,
) -> None:
    """Whether anything is due (an idle worker's poll), the claim's promotion of due jobs
    and the active holders of unique keys walk the partial index made for each, not every
    job of the status (a claim with 100,000 jobs scheduled took 48.8 ms)."""
    for query in ("has_due_work", "claim_jobs", "existing_jobs"):
        plan = planned(sqlite_store, query)
        assert unbounded_reads(plan) == [], (query, plan)
    later = datetime.now(UTC) + timedelta(hours=1)
    sqlite_store.enqueue_jobs([new_job(run_at=later) for _ in range(50)]
                              + [new_job(run_at=datetime.now(UTC), unique_key="k")])
    assert sqlite_store.enqueue_jobs([new_job(unique_key="k")])[0].unique_key == "k"
    assert len(sqlite_store.claim_jobs(WORKER, ["default"], 20)) == 1
