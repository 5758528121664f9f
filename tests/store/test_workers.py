"""The Store contract for the worker registry: heartbeats, on every backend."""

from __future__ import annotations

from corral.status import JobStatus
from corral.store import Store
from corral.store.base import WorkerInfo
from tests.factories import WORKER, make_job

S = JobStatus


def test_heartbeat_refreshes_worker_and_returns_held_jobs(store: Store) -> None:
    store.register_worker(WorkerInfo(WORKER, "host", 1, ("default",), 2, "t", "127.0.0.1:9"))
    first = store.list_workers()[0].last_seen
    job = make_job(store, S.RUNNING)
    held = store.heartbeat(WORKER)
    assert [(h.job_id, h.status, h.attempt) for h in held] == [(job.id, S.RUNNING, 1)]
    assert store.list_workers()[0].last_seen >= first
    assert store.get_job(job.id).heartbeat_at is not None
    store.deregister_worker(WORKER)
    assert store.list_workers()[0].state == "stopped"
