"""The caller's JSON comes back exactly as written, on both stores (issue 14, item 8).

PostgreSQL's jsonb normalized values (1e16 and 1e308 read back as ints, -0.0 as 0.0,
object keys re-ordered); the PostgreSQL store keeps them as ``json`` text now, like SQLite.
"Exactly" is checked on ``json.dumps`` of what comes back, which tells -0.0 from 0.0,
1e16 from 10000000000000000 and {"b", "a"} from {"a", "b"}, unlike ``==``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral import errors, ids
from corral.batch import NewBatch
from corral.job import NewJob
from corral.outcome import Outcome
from corral.store import Store, open_store
from corral.store.base import JobFilter, NewEvent
from corral.store.postgres import driver as postgres_store
from tests.store.helpers import postgres_schema_before, postgres_session

WORKER = "worker-json"

# Valid text only: lone surrogates and NUL are refused at enqueue (input validation).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)
SCALARS = (st.none() | st.booleans() | TEXT
           | st.integers(min_value=-(10**40), max_value=10**40)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.sampled_from([1e16, 1e308, -1e308, -0.0, 0.0, 5e-324, 1.0, 0.1 + 0.2,
                              2**53 + 1, 2**63, -(2**64), 10**30]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)
OBJECTS = st.dictionaries(TEXT, VALUES, max_size=5)

EDGE_CASES: list[Any] = [
    1e16, 1e308, -1e308, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1.0, 100.0, 1e-7,
    0.1 + 0.2, 123456789012345680.0, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 10**30,
    -(10**40), 0, True, False, None, "", "é", "\u2028\u2029", "😀", "a\"b\\c\n\t",
    "\u00a0 \ufeff", [], {}, [[[]]], {"b": 1, "a": 2}, {"z": {"y": 1, "x": [2, 1]}},
    [1e16, {"k": -0.0}], {"": 1}, {"1": 1, "0": 0}, {"big": 1.5e300},
]


def exact(value: Any) -> str:
    return json.dumps(value)


def queued_job(store: Store, args: list[Any], kwargs: dict[str, Any],
               meta: dict[str, Any]) -> NewJob:
    """A job alone on a queue of its own, so a claim takes exactly it."""
    return NewJob(id=ids.uuid7(), task="noop", args=args, kwargs=kwargs, meta=meta,
                  queue=f"q-{uuid.uuid4().hex[:8]}")


def assert_round_trip(store: Store, args: list[Any], kwargs: dict[str, Any],
                      meta: dict[str, Any], saved: Any, result: Any) -> None:
    new = queued_job(store, args, kwargs, meta)
    store.enqueue_jobs([new])
    stored = store.get_job(new.id)
    assert stored is not None
    assert (exact(stored.args), exact(stored.kwargs), exact(stored.meta)) == (
        exact(args), exact(kwargs), exact(meta))
    [running] = store.claim_jobs(WORKER, [new.queue], 1)
    assert exact(running.args) == exact(args) and exact(running.meta) == exact(meta)
    assert store.save_result(new.id, WORKER, running.attempt, saved)
    partial = store.get_job(new.id)
    assert partial is not None and exact(partial.result) == exact(saved)
    store.add_events([NewEvent(new.id, "log", actor=WORKER, reason="note", data=kwargs)])
    [finished] = store.finish_jobs([Outcome.completed(new.id, WORKER, running.attempt,
                                                      result)])
    assert finished.recorded
    done = store.get_job(new.id)
    assert done is not None and exact(done.result) == exact(result)
    [log] = [e for e in store.job_events(new.id) if e.kind == "log"]
    assert exact(log.data) == exact(kwargs)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(VALUES, max_size=4), kwargs=OBJECTS, meta=OBJECTS, saved=VALUES,
       result=VALUES)
def test_args_kwargs_meta_results_and_log_data_round_trip_exactly(
        store: Store, args: list[Any], kwargs: dict[str, Any], meta: dict[str, Any],
        saved: Any, result: Any) -> None:
    assert_round_trip(store, args, kwargs, meta, saved, result)


@pytest.mark.parametrize("value", EDGE_CASES, ids=[exact(v)[:30] for v in EDGE_CASES])
def test_json_edge_cases_of_issue_14_round_trip_exactly(store: Store, value: Any) -> None:
    """1e16 and 1e308 stay floats, -0.0 keeps its sign, keys keep their order."""
    assert_round_trip(store, [value], {"b": value, "a": value}, {"label": value},
                      {"partial": value}, value)


def test_a_batchs_on_complete_job_keeps_its_json_exactly(store: Store) -> None:
    args: list[Any] = [1e16, -0.0, {"b": 1, "a": 2}]
    after = NewJob(id=ids.uuid7(), task="report", args=args, kwargs={"z": 1e308, "a": 5e-324},
                   meta={"y": 1.0, "x": 2})
    batch = NewBatch(id=ids.uuid7(), on_complete=after)
    [member] = store.enqueue_jobs([NewJob(id=ids.uuid7(), task="noop", args=[], kwargs={},
                                          batch_id=batch.id)], batch=batch)
    store.cancel_jobs([member.id], actor="test", reason=None)
    [made] = store.complete_batches(actor="test")
    job = store.get_job(made)
    assert job is not None
    assert exact(job.args) == exact(args)
    assert exact(job.kwargs) == exact(after.kwargs)
    assert exact(job.meta) == exact({**after.meta, "completed_batch_id": batch.id})


def test_meta_labels_match_by_top_level_key_and_value(store: Store) -> None:
    labels: list[dict[str, Any]] = [
        {"crawl_job_id": 5}, {"crawl_job_id": 5.0, "team": "data"}, {"crawl_job_id": 6},
        {"crawl_job_id": "5"}, {"flag": True}, {"flag": 1}, {"gone": None}, {},
        {"a.b": 1e16, "order": [1, 2]}, {"crawl_job_id": [5]},
    ]
    made = store.enqueue_jobs([NewJob(id=ids.uuid7(), task="noop", args=[], kwargs={},
                                      meta=meta) for meta in labels])
    by_meta = {exact(labels[i]): job.id for i, job in enumerate(made)}

    def found(meta: dict[str, Any]) -> set[str]:
        return {exact(job.meta) for job in store.list_jobs(JobFilter(meta=meta), limit=None)}

    assert found({"crawl_job_id": 5}) == {exact(labels[0]), exact(labels[1])}
    assert found({"crawl_job_id": 5.0}) == {exact(labels[0]), exact(labels[1])}
    assert found({"crawl_job_id": 5, "team": "data"}) == {exact(labels[1])}
    assert found({"crawl_job_id": "5"}) == {exact(labels[3])}
    assert found({"flag": True}) == {exact(labels[4])}
    assert found({"flag": 1}) == {exact(labels[5])}
    assert found({"gone": None}) == {exact(labels[6])}
    assert found({"a.b": 10**16}) == {exact(labels[8])}
    assert found({"missing": 1}) == set()
    assert len(found({})) == len(labels)
    assert len(by_meta) == len(labels)
    with pytest.raises(errors.InvalidArguments):
        store.list_jobs(JobFilter(meta={"crawl_job_id": [5]}))


def test_postgres_migration_keeps_jobs_written_before_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows stored as jsonb before 0005 read back after it (as jsonb printed them), and
    the change trigger, rewritten for json (no equality operator), still runs on them."""
    with postgres_schema_before(5, monkeypatch) as (url, old):
        new = NewJob(id=ids.uuid7(), task="noop", args=[1.5, "x"], kwargs={"b": 1, "a": 2},
                     meta={"crawl_job_id": 5})
        with postgres_session(url) as conn:  # as 0004 wrote
            conn.execute("INSERT INTO jobs (id, task, args, kwargs, status, run_at, "
                         "created_at, meta) VALUES (%s, 'noop', %s, %s, 'queued', now(), "
                         "now(), %s)", (new.id, json.dumps(new.args), json.dumps(new.kwargs),
                                        json.dumps(new.meta)))
        [running] = old.claim_jobs(WORKER, ["default"], 1)
        old.save_result(new.id, WORKER, running.attempt, {"n": 3})
        old.close()

        store = open_store(url)
        try:
            assert store.migrate() == postgres_store.MIGRATIONS[-1].version
            feed = store.open_change_feed()
            try:
                assert store.finish_jobs([Outcome.completed(new.id, WORKER, running.attempt,
                                                            {"n": 3, "z": -0.0})])[0].recorded
                assert feed.wait(5) == [new.id]
            finally:
                feed.close()
            job = store.get_job(new.id)
            assert job is not None
            assert (job.args, job.kwargs, job.meta) == ([1.5, "x"], {"a": 2, "b": 1},
                                                       {"crawl_job_id": 5})
            assert exact(job.result) == exact({"n": 3, "z": -0.0})
            assert [j.id for j in store.list_jobs(JobFilter(meta={"crawl_job_id": 5}))] == [
                new.id]
        finally:
            store.close()
