"""A connection a single writer keeps (``Store.keep_connection``), and the listener's lent
one: statements inside a lent block run on that session, whichever thread runs them; a
session that dies, or is left inside a transaction, is never used again."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Engine, Store, open_store
from tests.chaos.test_postgres_connection_loss import terminate_sessions
from tests.factories import WORKER, make_job

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


def session_of(store: Store, sql: str = "SELECT pg_backend_pid() AS value") -> Any:
    """What ``sql`` reads on the session the calling thread's next statement runs on."""
    assert isinstance(store, Engine)
    with store.driver.connection() as conn:  # type: ignore[attr-defined]
        cursor = conn.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return row["value"] if row else None


def in_thread(function: Any) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join(30)
    return result[0]


def complete(store: Store, job_id: str, attempt: int) -> bool:
    [result] = store.finish_jobs([Outcome.completed(job_id, WORKER, attempt, 1)])
    return result.recorded


def test_every_thread_writes_on_the_one_kept_session(store: Store) -> None:
    kept = store.keep_connection()
    try:
        def lent_session() -> int:
            with kept.lend():
                return int(session_of(store))

        first, second = lent_session(), in_thread(lent_session)
        assert first == second, "one session, whichever thread writes"
        with kept.lend():
            pass
        assert session_of(store) != first, "the pool does not hand out the kept session"
    finally:
        kept.release()


def test_a_kept_session_that_was_terminated_is_replaced(db_url: str, store: Store) -> None:
    kept = store.keep_connection()
    jobs = [make_job(store, JobStatus.RUNNING) for _ in range(2)]
    try:
        with kept.lend():
            assert complete(store, jobs[0].id, jobs[0].attempt)
            before = session_of(store)
        assert terminate_sessions(db_url) >= 1
        with kept.lend():
            assert complete(store, jobs[1].id, jobs[1].attempt)
            assert session_of(store) != before
    finally:
        kept.release()
    for job in jobs:
        assert [e.kind for e in store.job_events(job.id)].count("completed") == 1


def test_a_kept_session_left_in_a_transaction_is_not_written_on(db_url: str,
                                                                store: Store) -> None:
    """Were it reused, the outcome would be a savepoint inside the open transaction:
    recorded for the writer, never committed for anyone else."""
    kept = store.keep_connection()
    job = make_job(store, JobStatus.RUNNING)
    other = open_store(db_url)
    try:
        with kept.lend():
            session_of(store, "BEGIN")
        with kept.lend():
            assert complete(store, job.id, job.attempt)
        seen = other.get_job(job.id)
        assert seen is not None and seen.status == JobStatus.COMPLETED
    finally:
        kept.release()
        other.close()


def test_a_released_session_goes_back_to_the_pool(store: Store) -> None:
    kept = store.keep_connection()
    with kept.lend():
        held = session_of(store)
    kept.release()
    assert held in {session_of(store) for _ in range(40)}, "the pool hands it out again"
    job = make_job(store, JobStatus.RUNNING)
    with kept.lend():  # nothing kept any more: the pool's, as anyone's
        assert complete(store, job.id, job.attempt)


def test_a_lent_listener_runs_statements_on_the_listening_session(store: Store) -> None:
    listener = store.open_listener()
    try:
        lent = listener.lend()
        assert lent is not None
        with lent:
            assert in_thread(lambda: session_of(store, "SELECT pg_listening_channels() "
                                                       "AS value")) is None
            assert session_of(store, "SELECT pg_listening_channels() AS value")
        assert session_of(store, "SELECT pg_listening_channels() AS value") is None
    finally:
        listener.close()
