"""The Store contract for what a running job reports (progress, partial results, notes),
on every backend."""

from __future__ import annotations

import pytest

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import NewEvent, ProgressUpdate
from tests.factories import WORKER, make_job

S = JobStatus


def test_progress_is_fenced_and_reports_refused_jobs(store: Store) -> None:
    held = make_job(store, S.RUNNING)
    gone = make_job(store, S.COMPLETED)
    refused = store.record_progress([
        ProgressUpdate(held.id, WORKER, 1, "ingest", 3, 10, "three"),
        ProgressUpdate(gone.id, WORKER, 1, "ingest", 3, 10, "three"),
    ])
    assert refused == [gone.id]
    job = store.get_job(held.id)
    assert (job.phase, job.progress.current, job.progress.total, job.progress.message) == (
        "ingest", 3, 10, "three")
    assert job.progress.ratio == pytest.approx(0.3)
    assert [e.kind for e in store.job_events(held.id)] == ["enqueued", "claimed"]


def test_save_result_is_refused_once_the_job_is_gone(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    store.cancel_jobs([job.id], actor=None, reason=None, force=True)
    assert not store.save_result(job.id, WORKER, 1, {"partial": True})


def test_notes_go_to_the_trail_without_changing_status(store: Store) -> None:
    job = make_job(store, S.RUNNING)
    store.add_events([NewEvent(job.id, "phase", actor=WORKER, data={"phase": "digest"})])
    event = store.job_events(job.id)[-1]
    assert (event.kind, event.data, event.to_status) == ("phase", {"phase": "digest"}, None)
