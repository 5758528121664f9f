"""No input may poison the store (issue 14, items 2-4), on both stores: a refused write
stores nothing, and a row that cannot be read back anyway (an older version's, a manual
edit's: written here by hand with SQL) is quarantined as failed/CorruptJob where it is
read, without stalling the rest of its claim batch or failing a listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

import corral
from corral import errors
from corral.status import QUARANTINE, JobStatus
from corral.store import Store, codec
from tests import corrupt
from tests.factories import WORKER, new_job

DEEP: Any = 1
for _ in range(codec.MAX_JSON_DEPTH):
    DEEP = [DEEP]  # args=[DEEP] nests one level more than allowed


@pytest.mark.parametrize("kind", corrupt.KINDS)
def test_a_corrupt_row_is_quarantined_and_the_rest_of_its_claim_batch_is_claimed(
        store: Store, db_url: str, kind: str) -> None:
    jobs = store.enqueue_jobs([new_job(args=[i]) for i in range(5)])
    bad = jobs[2]
    corrupt.corrupt(db_url, bad.id, kind)

    claimed = store.claim_jobs(WORKER, ["default"], 10)

    assert sorted(job.id for job in claimed) == sorted(j.id for j in jobs if j.id != bad.id)
    assert all(job.status == JobStatus.RUNNING for job in claimed)
    listed = {job.id: job for job in store.list_jobs(corral_filter(), limit=None)}
    assert len(listed) == 5
    quarantined = listed[bad.id]
    assert quarantined.status == JobStatus.FAILED
    assert quarantined.error is not None and quarantined.error.type == "CorruptJob"
    assert "cannot be read back" in quarantined.error.message
    gotten = store.get_job(bad.id)
    assert gotten is not None and gotten.status == JobStatus.FAILED
    trail = [(e.kind, e.from_status, e.to_status) for e in store.job_events(bad.id)]
    assert trail[-1][0] == "quarantined" and trail[-1][2] == JobStatus.FAILED
    assert (trail[-1][1], trail[-1][2]) in QUARANTINE
    (deletion,) = store.delete_jobs([bad.id])
    assert deletion.deleted and store.get_job(bad.id) is None


@pytest.mark.parametrize("kind", corrupt.KINDS)
def test_a_listing_quarantines_a_corrupt_row_once_and_lists_every_other(
        store: Store, db_url: str, kind: str) -> None:
    jobs = store.enqueue_jobs([new_job(args=[i]) for i in range(3)])
    corrupt.corrupt(db_url, jobs[0].id, kind)

    first = store.list_jobs(corral_filter(), limit=None)
    again = store.list_jobs(corral_filter(), limit=None)

    assert [job.id for job in first] == [job.id for job in again] == [j.id for j in jobs][::-1]
    assert [job.status for job in again] == [JobStatus.QUEUED, JobStatus.QUEUED,
                                             JobStatus.FAILED]
    events = [e.kind for e in store.job_events(jobs[0].id)]
    assert events.count("quarantined") == 1  # read again: no second move, no second row
    assert [job.id for job in store.claim_jobs(WORKER, ["default"], 10)] == [
        job.id for job in jobs[1:]]


def corral_filter() -> Any:
    from corral.bulk import job_filter

    return job_filter()


# -- refused writes store nothing -------------------------------------------------------


@pytest.fixture
def noop(app: corral.Corral) -> corral.Task:
    @app.task(name="noop")
    def noop(*args: object, **kwargs: object) -> None:
        return None

    return noop


BAD_CALLS: dict[str, Any] = {
    "run_at before year 1 in UTC": lambda t: t.s().set(
        run_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))),
    "run_at after year 9999 in UTC": lambda t: t.s().set(
        run_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))),
    "lone surrogate in args": lambda t: t.s("\ud800"),
    "lone surrogate in a key": lambda t: t.s(**{"\ud800": 1}),
    "NUL in args": lambda t: t.s("a\x00b"),
    "nesting past the limit": lambda t: t.s(DEEP),
    "NaN": lambda t: t.s(float("nan")),
    "Infinity in meta": lambda t: t.s().set(meta={"x": float("inf")}),
    "not JSON": lambda t: t.s(object()),
    "int past Python's digit limit": lambda t: t.s(10 ** 5000),
    "NUL in unique_key": lambda t: t.s().set(unique_key="a\x00b"),
    "lone surrogate in limit_key": lambda t: t.s().set(limit_key="\udcff"),
    "NUL in queue": lambda t: t.s().set(queue="q\x00"),
    "delay past 1000 years": lambda t: t.s().set(delay="3000000d"),
}


@pytest.mark.parametrize("call", BAD_CALLS, ids=list(BAD_CALLS))
def test_a_refused_enqueue_stores_nothing(app: corral.Corral, noop: corral.Task, db_url: str,
                                          call: str) -> None:
    app.store.migrate()  # the tables exist: nothing in them is what is checked
    with pytest.raises((errors.InvalidArguments, errors.ConfigError)):
        BAD_CALLS[call](noop).enqueue()
    with pytest.raises((errors.InvalidArguments, errors.ConfigError)):
        app.batch([noop.s(1), BAD_CALLS[call](noop)])
    assert corrupt.count_rows(db_url) == 0
    assert app.list_jobs(limit=None) == []


def test_the_deepest_allowed_nesting_round_trips(app: corral.Corral, noop: corral.Task) -> None:
    deepest = DEEP[0]  # MAX_JSON_DEPTH levels, args adding one: exactly the limit
    job = noop.s(*deepest).enqueue()
    assert app.get_job(job.id).args == deepest


BAD_FILTERS: dict[str, dict[str, Any]] = {
    "older_than of 3,000,000 days": {"older_than": "3000000d"},
    "older_than as a huge timedelta": {"older_than": timedelta(days=3_000_000)},
    "lone surrogate in ids": {"ids": ["\ud800"]},
    "NUL in ids": {"ids": ["a\x00"]},
    "NUL in queue": {"queue": "q\x00"},
}


@pytest.mark.parametrize("given", BAD_FILTERS, ids=list(BAD_FILTERS))
def test_bad_filters_are_typed_errors_and_change_nothing(
        app: corral.Corral, noop: corral.Task, given: str) -> None:
    job = noop.enqueue(1)
    for operation in (app.cancel_many, app.delete_many, app.restart_many):
        with pytest.raises((errors.InvalidArguments, errors.ConfigError)):
            operation(**BAD_FILTERS[given])
    with pytest.raises((errors.InvalidArguments, errors.ConfigError)):
        app.list_jobs(**{k: v for k, v in BAD_FILTERS[given].items() if k != "ids"}
                      or {"status": ["\ud800"]})
    assert app.get_job(job.id).status == JobStatus.QUEUED


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_texts_no_store_can_hold_are_refused_before_any_write(
        app: corral.Corral, noop: corral.Task, text: str) -> None:
    job = noop.enqueue(1)
    with pytest.raises(errors.InvalidArguments):
        app.cancel(job.id, reason=text)
    with pytest.raises(errors.InvalidArguments):
        app.reset_stuck("1h", reason=text)
    with pytest.raises(errors.InvalidArguments):
        app.get_job(text)
    with pytest.raises(errors.InvalidArguments):
        app.pause_queue(text)
    with pytest.raises(errors.ConfigError):
        app.reset_stuck("3000000d")
    assert app.get_job(job.id).status == JobStatus.QUEUED
    assert app.get_job(job.id).cancel_reason is None


def test_a_result_the_store_cannot_keep_fails_the_job_with_a_clear_error(
        app: corral.Corral) -> None:
    from corral.worker import executor

    execution = SimpleNamespace(job=SimpleNamespace(id="j", attempt=1), worker_id="w",
                                ctx=SimpleNamespace(current_phase=None))
    for value in ("\ud800", [DEEP], {"x": float("nan")}, {1: "int key"}):
        outcome = executor.outcome_of_result(execution, value)  # type: ignore[arg-type]
        assert outcome.error is not None and outcome.error.type == "InvalidResult"
    ok = executor.outcome_of_result(execution, {"fine": [1, 2.5, None]})  # type: ignore[arg-type]
    assert ok.error is None and ok.result == {"fine": [1, 2.5, None]}


def test_reported_texts_keep_what_a_store_can_hold(store: Store) -> None:
    """Error messages and progress messages are reports, not inputs: a task's exception
    about a file named with undecodable bytes must still be recorded."""
    from corral.job import JobError
    from corral.outcome import Outcome
    from corral.store.base import ProgressUpdate

    (job,) = store.enqueue_jobs([new_job()])
    (running,) = store.claim_jobs(WORKER, ["default"], 1)
    assert store.record_progress([ProgressUpdate(job.id, WORKER, 1, None, 1, 2,
                                                 "file \udcff\x00")]) == []
    store.finish_jobs([Outcome.failed(job.id, WORKER, running.attempt,
                                      JobError("OSError", "no \udcff", "trace \ud800"))])
    done = store.get_job(job.id)
    assert done is not None and done.status == JobStatus.FAILED
    assert done.error is not None and done.error.message == "no \ufffd"
    assert done.progress.message == "file \ufffd\ufffd"


def test_run_at_is_kept_in_utc(app: corral.Corral, noop: corral.Task) -> None:
    at = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=14)))
    job = noop.s().set(run_at=at).enqueue()
    assert app.get_job(job.id).run_at == at.astimezone(UTC)
