"""The Store contract for enqueue: one transaction, scheduling, JSON, on every backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import JobFilter
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
