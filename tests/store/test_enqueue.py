"""The Store contract for enqueue: one transaction, scheduling, JSON, on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from corral import errors
from corral.job import NewJob
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter
from corral.store.engine import INSERT_CHUNK
from tests.corrupt import count_rows, execute
from tests.factories import WORKER, new_job
from tests.store.helpers import assert_trail_follows_state_machine, statuses

S = JobStatus


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


def test_job_json_fields_survive(store: Store) -> None:
    job = new_job(args=[{"a": [1, 2.5, None, True]}, "ü"])
    store.enqueue_jobs([job])
    assert store.get_job(job.id).args == json.loads(json.dumps(job.args))


REFUSE_POISON = {  # the database itself refuses a job; no guard in corral sees it coming
    "sqlite": "CREATE TRIGGER refuse_poison BEFORE INSERT ON jobs WHEN NEW.task = 'poison'"
              " BEGIN SELECT RAISE(ABORT, 'poison refused'); END",
    "postgresql": "ALTER TABLE jobs ADD CONSTRAINT refuse_poison CHECK (task <> 'poison')",
}


def test_an_enqueue_of_several_statements_refused_in_its_last_writes_nothing(
        store: Store, db_url: str) -> None:
    """A big enqueue is several insert statements (PostgreSQL sends them pipelined), yet
    one transaction: the database refusing the last job undoes the jobs and trail rows
    of every statement before it."""
    execute(db_url, REFUSE_POISON[db_url.split(":", 1)[0]], {})
    jobs = [new_job(args=[i]) for i in range(2 * INSERT_CHUNK)] + [new_job("poison")]
    with pytest.raises(errors.StoreError):
        store.enqueue_jobs(jobs, actor="me")
    assert count_rows(db_url) == 0
    assert store.job_events(jobs[0].id) == []
    assert len(store.enqueue_jobs(jobs[:-1], actor="me")) == 2 * INSERT_CHUNK
    assert [e.kind for e in store.job_events(jobs[0].id)] == ["enqueued"]


def test_jobs_are_drawn_as_the_write_reaches_them_and_once(store: Store) -> None:
    """A generator of jobs is drawn chunk by chunk while the inserts go on (so a job is
    made while the database writes the ones before), each job once; one it fails to make,
    past the first statement, fails the call and nothing is written."""
    drawn: list[int] = []

    def jobs(count: int, failing_at: int | None = None) -> Iterator[NewJob]:
        for i in range(count):
            if i == failing_at:
                raise errors.InvalidArguments("not a job")
            drawn.append(i)
            yield new_job(args=[i])

    with pytest.raises(errors.InvalidArguments, match="not a job"):
        store.enqueue_jobs(jobs(3 * INSERT_CHUNK, failing_at=2 * INSERT_CHUNK + 1))
    assert store.list_jobs(JobFilter()) == [] and drawn == list(range(2 * INSERT_CHUNK + 1))
    drawn.clear()
    made = store.enqueue_jobs(jobs(2 * INSERT_CHUNK + 1), actor="me")
    assert drawn == list(range(2 * INSERT_CHUNK + 1))
    assert [job.args for job in made] == [[i] for i in drawn]
    assert len(store.list_jobs(JobFilter(), limit=None)) == len(made)


def test_an_enqueue_returns_each_job_as_stored(store: Store) -> None:
    """What an enqueue returns is the row it wrote, field for field, in every statement of
    a big one: a job given no run_at runs from its created_at (the statement's time),
    one given a run_at keeps it, past or future deciding queued or scheduled."""
    now = datetime.now(UTC)
    times = [None, now - timedelta(minutes=5), now + timedelta(hours=1),
             datetime(9000, 1, 1, tzinfo=UTC), now - timedelta(days=3650)]
    jobs = [new_job(args=[i], run_at=times[i % len(times)])
            for i in range(2 * INSERT_CHUNK + 3)]
    returned = store.enqueue_jobs(jobs, actor="me")
    stored = {job.id: job for job in store.list_jobs(JobFilter(), limit=None)}
    assert [job.id for job in returned] == [job.id for job in jobs]
    assert returned == [stored[job.id] for job in jobs]
    assert {job.created_at for job in returned} == {returned[0].created_at}
    by_time = {i: returned[i] for i in range(len(times))}
    assert by_time[0].run_at == by_time[0].created_at and by_time[0].status == S.QUEUED
    assert [by_time[i].run_at for i in range(1, 5)] == times[1:]
    assert [by_time[i].status for i in range(1, 5)] == [S.QUEUED, S.SCHEDULED, S.SCHEDULED,
                                                         S.QUEUED]
