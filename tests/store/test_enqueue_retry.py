"""Enqueue is idempotent under retries (DESIGN §7): a retried insert whose first attempt
committed, its acknowledgement lost, returns the jobs it made, never a duplicate-key
error, and writes no second trail row."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

import corral
from corral import errors
from corral.batch import NewBatch
from corral.job import Job, NewJob
from corral.status import JobStatus
from corral.store import Store, open_store
from corral.store.base import JobFilter, NewEvent
from corral.store.engine import INSERT_CHUNK, Engine
from corral.store.postgres.driver import PostgresDriver
from tests.conftest import POSTGRES_URL, postgres_or_skip
from tests.factories import new_job


def stored(store: Store, jobs: Sequence[Job | NewJob]) -> list[Job]:
    return store.list_jobs(JobFilter(ids=tuple(job.id for job in jobs)), limit=None)


def enqueued_rows(store: Store, job_id: str) -> int:
    return [event.kind for event in store.job_events(job_id)].count("enqueued")


def assert_made_once(store: Store, first: Sequence[Job], again: Sequence[Job]) -> None:
    """The retry returned the same jobs; each is one row with one ``enqueued`` trail row."""
    assert [(job.id, job.status) for job in again] == [(job.id, job.status) for job in first]
    rows = stored(store, first)
    assert sorted(job.id for job in rows) == sorted(job.id for job in first)
    assert all(enqueued_rows(store, job.id) == 1 for job in first)


def test_enqueue_of_stored_ids_returns_the_jobs_it_made(store: Store) -> None:
    jobs = [new_job(args=[i]) for i in range(20)]
    first = store.enqueue_jobs(jobs, actor="me")
    again = store.enqueue_jobs(jobs, actor="me")
    assert_made_once(store, first, again)
    assert all(job.status == JobStatus.QUEUED for job in again)


def test_retry_of_an_enqueue_of_several_statements_returns_what_each_made(store: Store) -> None:
    """An enqueue bigger than one insert statement (``INSERT_CHUNK``) whose middle was
    stored: each statement finds its own stored jobs, in order, none written twice."""
    jobs = [new_job(args=[i]) for i in range(2 * INSERT_CHUNK + 3)]
    made = store.enqueue_jobs(jobs[INSERT_CHUNK - 5:INSERT_CHUNK + 5])
    again = store.enqueue_jobs(jobs)
    assert [job.id for job in again] == [job.id for job in jobs]
    assert again[INSERT_CHUNK - 5:INSERT_CHUNK + 5] == made
    assert len(stored(store, jobs)) == len(jobs)
    assert all(enqueued_rows(store, job.id) == 1 for job in jobs[INSERT_CHUNK - 6:])


def test_one_id_twice_in_different_statements_is_refused_and_writes_nothing(
        store: Store) -> None:
    jobs = [new_job(args=[i]) for i in range(INSERT_CHUNK + 2)]
    with pytest.raises(errors.InvalidArguments, match="twice"):
        store.enqueue_jobs([*jobs, jobs[3]])
    assert store.list_jobs(JobFilter()) == []


def test_retried_enqueue_returns_jobs_as_they_are_now(store: Store) -> None:
    """A retry that comes late sees the job as it is (claimed), not as first made."""
    (job,) = jobs = [new_job()]
    (first,) = store.enqueue_jobs(jobs)
    (claimed,) = store.claim_jobs("w-1", ["default"], 1)
    (again,) = store.enqueue_jobs(jobs)
    assert again.id == first.id == claimed.id and again.status == JobStatus.RUNNING
    assert enqueued_rows(store, job.id) == 1 and len(stored(store, jobs)) == 1


def test_retried_enqueue_mixes_made_and_new_jobs(store: Store) -> None:
    made = [new_job(args=[1])]
    (first,) = store.enqueue_jobs(made)
    fresh = new_job(args=[2])
    back = store.enqueue_jobs([fresh, *made])
    assert [job.id for job in back] == [fresh.id, first.id]
    assert enqueued_rows(store, fresh.id) == enqueued_rows(store, first.id) == 1


def test_retried_unique_enqueue_returns_its_own_job(store: Store) -> None:
    jobs = [new_job(unique_key="report:1"), new_job(unique_key="report:1"), new_job()]
    first = store.enqueue_jobs(jobs)
    assert first[1].id == first[0].id  # the second deduplicated onto the first
    again = store.enqueue_jobs(jobs)
    assert [job.id for job in again] == [job.id for job in first]
    assert len(stored(store, jobs)) == 2
    assert enqueued_rows(store, jobs[0].id) == 1 and enqueued_rows(store, jobs[2].id) == 1


def test_retried_unique_enqueue_after_its_job_finished_returns_that_job(store: Store) -> None:
    """Its key is free again, but the retry still gets what its first attempt made."""
    jobs = [new_job(unique_key="nightly")]
    (first,) = store.enqueue_jobs(jobs)
    store.cancel_jobs([first.id], actor="test", reason=None)
    (again,) = store.enqueue_jobs(jobs)
    assert again.id == first.id and again.status == JobStatus.CANCELLED
    assert len(stored(store, jobs)) == 1 and enqueued_rows(store, first.id) == 1


def test_retried_batch_enqueue_keeps_one_batch(store: Store) -> None:
    batch = NewBatch(id=str(uuid.uuid4()), name="crawl")
    jobs = [new_job(batch_id=batch.id, args=[i]) for i in range(3)]
    first = store.enqueue_jobs(jobs, batch=batch)
    again = store.enqueue_jobs(jobs, batch=batch)
    assert_made_once(store, first, again)
    found = store.get_batch(batch.id)
    assert found is not None and found.name == "crawl" and found.total == 3


def test_retried_tick_is_enqueued_once(store: Store) -> None:
    tick = datetime(2030, 1, 1, tzinfo=UTC)
    job = new_job()
    assert store.enqueue_tick("nightly", tick, job, actor="scheduler")
    assert store.enqueue_tick("nightly", tick, job, actor="scheduler")  # the retry: ours
    assert not store.enqueue_tick("nightly", tick, new_job(), actor="scheduler")  # another's
    assert len(store.list_jobs(JobFilter(), limit=None)) == 1
    assert enqueued_rows(store, job.id) == 1


def test_an_id_taken_by_another_task_is_a_store_error(store: Store) -> None:
    taken = new_job("noop")
    store.enqueue_jobs([taken])
    impostor = NewJob(id=taken.id, task="other", args=[], kwargs={})
    with pytest.raises(errors.StoreError, match="taken"):
        store.enqueue_jobs([impostor])
    assert [job.task for job in stored(store, [taken])] == ["noop"]
    assert enqueued_rows(store, taken.id) == 1


def test_one_id_twice_in_one_enqueue_is_refused_and_writes_nothing(store: Store) -> None:
    twice = new_job()
    with pytest.raises(errors.InvalidArguments, match="twice"):
        store.enqueue_jobs([new_job(), twice, twice])
    assert store.list_jobs(JobFilter()) == []


def test_a_constraint_the_guards_missed_is_a_store_error(store: Store) -> None:
    """No driver IntegrityError leaves the store (over HTTP it would be a 500)."""
    (job,) = store.enqueue_jobs([new_job()])
    with pytest.raises(errors.StoreError):
        store.add_events([NewEvent(job_id=job.id, kind=None)])  # type: ignore[arg-type]


# -- a lost acknowledgement, for real: PostgreSQL's reconnect retries the call -------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own (reconnecting is PostgreSQL's: SQLite has no lost acks)."""
    postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def lose_acknowledgements(store: Store, times: int = 1) -> list[int]:
    """Once the work on a pooled connection is done (the statement or transaction
    committed on the server), end that backend from another session before the store
    call returns: the call fails as if the acknowledgement never came, and
    ``reconnecting`` runs it again. Returns the pids it ended."""
    assert isinstance(store, Engine) and isinstance(store.driver, PostgresDriver)
    driver = store.driver
    ended: list[int] = []
    original: Callable[[], Any] = driver.connection

    @contextmanager
    def connection() -> Iterator[Any]:
        with original() as conn:
            yield conn
            if len(ended) < times:
                pid = conn.info.backend_pid
                ended.append(pid)
                terminate(pid)
                conn.execute("SELECT 1")  # raises: the session is gone

    driver.connection = connection  # type: ignore[method-assign]
    return ended


def terminate(pid: int) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                            (pid,)).fetchone():
            assert time.monotonic() < deadline, "backend did not end"
            time.sleep(0.01)


@pytest.mark.parametrize("shape", ["plain", "unique", "batch", "several statements"])
def test_enqueue_whose_commit_was_not_acknowledged_returns_its_jobs(
        pg_url: str, shape: str) -> None:
    store = open_store(pg_url)
    assert store.url.startswith("postgresql")
    try:
        store.migrate()
        batch = NewBatch(id=str(uuid.uuid4())) if shape == "batch" else None
        jobs = [new_job(args=[i], unique_key=f"k{i}" if shape == "unique" else None,
                        batch_id=batch.id if batch else None)
                for i in range(INSERT_CHUNK + 2 if shape == "several statements" else 5)]
        ended = lose_acknowledgements(store)
        made = store.enqueue_jobs(jobs, actor="me", batch=batch)
        assert len(ended) == 1  # the first attempt committed, then lost its session
        assert [job.id for job in made] == [job.id for job in jobs]
        assert all(job.status == JobStatus.QUEUED for job in made)
        assert_made_once(store, made, store.enqueue_jobs(jobs, batch=batch))
    finally:
        store.close()


def test_facade_enqueue_whose_commit_was_not_acknowledged_makes_each_job_once(
        pg_url: str) -> None:
    app = corral.Corral(pg_url)
    try:
        @app.task(name="retry.noop")
        def noop(n: int) -> None: ...

        app.store.migrate()
        assert app.store.url.startswith("postgresql")
        ended = lose_acknowledgements(app.store)
        handles = app.enqueue_many([noop.s(i) for i in range(10)])
        assert len(ended) == 1
        ended = lose_acknowledgements(app.store)  # several statements, made as they go
        handles += app.enqueue_many([noop.s(i) for i in range(INSERT_CHUNK + 2)])
        assert len(ended) == 1
        everything = app.store.list_jobs(JobFilter(), limit=None)
        assert sorted(job.id for job in everything) == sorted(h.id for h in handles)
        assert all(enqueued_rows(app.store, h.id) == 1 for h in handles)
    finally:
        app.close()


def test_tick_whose_commit_was_not_acknowledged_is_enqueued_once(pg_url: str) -> None:
    store = open_store(pg_url)
    assert store.url.startswith("postgresql")
    try:
        store.migrate()
        job = new_job()
        ended = lose_acknowledgements(store)
        assert store.enqueue_tick("nightly", datetime(2030, 1, 1, tzinfo=UTC), job,
                                  actor="scheduler")
        assert len(ended) == 1
        assert [j.id for j in store.list_jobs(JobFilter(), limit=None)] == [job.id]
        assert enqueued_rows(store, job.id) == 1
    finally:
        store.close()
