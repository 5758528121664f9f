"""The Store contract for batches: the listing, on every backend."""

from __future__ import annotations

import dataclasses

import pytest

from corral import ids
from corral.batch import NewBatch
from corral.job import Job
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import ProgressUpdate
from tests.factories import WORKER, new_job


def make_batch(store: Store, name: str, size: int) -> tuple[str, list[Job]]:
    """A batch of ``size`` queued jobs on a queue of their own (so claims take only them)."""
    batch_id = ids.uuid7()
    jobs = [dataclasses.replace(new_job(queue=batch_id, args=[n]), batch_id=batch_id)
            for n in range(size)]
    return batch_id, store.enqueue_jobs(jobs, batch=NewBatch(batch_id, name))


def test_list_batches_gives_each_batch_its_counts_and_progress_like_get_batch(
        store: Store) -> None:
    mixed, jobs = make_batch(store, "mixed", 4)
    running, done = store.claim_jobs(WORKER, [mixed], 2)
    store.finish_jobs([Outcome.completed(done.id, WORKER, done.attempt, "ok")])
    store.record_progress([ProgressUpdate(running.id, WORKER, running.attempt, None, 5, 10,
                                          None)])
    store.cancel_jobs([jobs[3].id], actor="test", reason=None)
    empty, _ = make_batch(store, "empty", 0)
    finished, (only,) = make_batch(store, "finished", 1)
    store.cancel_jobs([only.id], actor="test", reason=None)

    listed = store.list_batches()

    assert [batch.id for batch in listed] == [finished, empty, mixed]
    assert listed == [store.get_batch(batch_id) for batch_id in (finished, empty, mixed)]
    last = listed[2]
    assert {status: n for status, n in last.counts.items() if n} == {
        "queued": 1, "running": 1, "completed": 1, "cancelled": 1}
    assert set(last.counts) == {str(status) for status in JobStatus}
    assert last.progress == pytest.approx((1 + 1 + 0.5) / 4)
    assert (last.name, last.state) == ("mixed", "running")
    assert (listed[1].total, listed[1].progress) == (0, 1.0)
    assert (listed[0].counts["cancelled"], listed[0].state) == (1, "cancelled")


def test_list_batches_pages_newest_first_with_a_before_id_cursor(store: Store) -> None:
    made = [make_batch(store, f"b{n}", 2)[0] for n in range(5)]
    pages, cursor = [], None
    while page := store.list_batches(limit=2, before_id=cursor):
        assert all(batch.total == 2 for batch in page)
        pages.append([batch.id for batch in page])
        cursor = page[-1].id
    assert pages == [made[4:2:-1], made[2:0:-1], made[:1]]
    assert store.list_batches(limit=50, before_id=made[0]) == []
