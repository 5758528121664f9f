"""The recorder writes a lone job's outcome from the task's own thread (``write_now``);
a write that fails there is not lost: the recorder's loop writes it, once."""

from __future__ import annotations

import sqlite3
import threading
from urllib.parse import quote

import pytest

from corral.context import Context
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Engine, Store, open_store
from corral.store.base import FinishResult
from corral.store.sqlite.driver import SQLiteDriver
from corral.worker.recorder import Recorder
from tests.factories import WORKER, make_job
from tests.store.helpers import postgres_session
from tests.waiting import wait_until


def completed_kinds(store: Store, job_id: str) -> list[str]:
    return [e.kind for e in store.job_events(job_id) if e.kind == "completed"]


def test_write_now_writes_the_outcome_before_submit_returns(store: Store) -> None:
    """No recorder thread runs here: only the calling thread can have written it."""
    job = make_job(store, JobStatus.RUNNING)
    recorded: list[FinishResult] = []
    recorder = Recorder(store, on_lost=lambda job_id: None)
    recorder.submit(Outcome.completed(job.id, WORKER, job.attempt, 7), recorded.append,
                    write_now=True)
    stored = store.get_job(job.id)
    assert stored is not None and stored.status == JobStatus.COMPLETED and stored.result == 7
    assert [r.recorded for r in recorded] == [True]
    assert completed_kinds(store, job.id) == ["completed"]


def delete_by_hand(store: Store, db_url: str, job_id: str) -> None:
    """An operator's DELETE, outside corral (SQLite's foreign keys are off there)."""
    if db_url.startswith("sqlite"):
        assert isinstance(store, Engine) and isinstance(store.driver, SQLiteDriver)
        conn = sqlite3.connect(store.driver.path)
        with conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        conn.close()
        return
    with postgres_session(db_url) as pg:
        pg.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def test_a_note_for_a_job_deleted_meanwhile_does_not_hold_back_the_outcomes_behind_it(
    store: Store, db_url: str,
) -> None:
    """The note is written with the outcome queued after it, in one write: were it
    refused, the outcome would go back to the inbox with it, again and again."""
    gone, kept = make_job(store, JobStatus.RUNNING), make_job(store, JobStatus.RUNNING)
    recorder = Recorder(store, on_lost=lambda job_id: None)
    recorded: list[FinishResult] = []
    delete_by_hand(store, db_url, gone.id)
    Context(gone, recorder).log("a line the task logged as its job was deleted")
    recorder.submit(Outcome.completed(kept.id, WORKER, kept.attempt, 7), recorded.append,
                    write_now=True)
    assert [r.recorded for r in recorded] == [True]
    assert store.get_job(kept.id).status == JobStatus.COMPLETED  # type: ignore[union-attr]
    assert store.get_job(gone.id) is None


def test_without_write_now_the_outcome_waits_for_the_recorder(store: Store) -> None:
    job = make_job(store, JobStatus.RUNNING)
    recorded: list[FinishResult] = []
    recorder = Recorder(store, on_lost=lambda job_id: None)
    recorder.submit(Outcome.completed(job.id, WORKER, job.attempt, 7), recorded.append)
    assert store.get_job(job.id).status == JobStatus.RUNNING  # type: ignore[union-attr]
    recorder.start()
    try:
        wait_until(lambda: recorded, message="the recorder's write")
    finally:
        recorder.stop()
        recorder.join()
    assert store.get_job(job.id).status == JobStatus.COMPLETED  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_outcome_the_task_thread_could_not_write_is_written_by_the_recorder_once(
    db_url: str, store: Store,
) -> None:
    """Another session holds the jobs table locked past the writer's statement timeout and
    its retries: the task's thread gives up without an error of its own, and the recorder
    writes the outcome once the lock is let go."""
    job = make_job(store, JobStatus.RUNNING)
    timed_out = open_store(f"{db_url}&options={quote('-c statement_timeout=100')}")
    holder = postgres_session(db_url)
    recorder = Recorder(timed_out, on_lost=lambda job_id: None)
    recorded: list[FinishResult] = []
    try:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        recorder.start()
        returned = threading.Event()

        def task_thread() -> None:
            recorder.submit(Outcome.completed(job.id, WORKER, job.attempt, 7),
                            recorded.append, write_now=True)
            returned.set()

        threading.Thread(target=task_thread).start()
        assert returned.wait(60), "the task's thread is let go after its retries"
        assert not recorded
        holder.execute("ROLLBACK")
        wait_until(lambda: recorded, timeout=30, message="the recorder's write")
    finally:
        recorder.stop()
        recorder.join()
        timed_out.close()
        holder.close()
    assert [r.recorded for r in recorded] == [True]
    stored = store.get_job(job.id)
    assert stored is not None and stored.status == JobStatus.COMPLETED and stored.result == 7
    assert completed_kinds(store, job.id) == ["completed"]
