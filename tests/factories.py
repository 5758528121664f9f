"""Put jobs into any state through the store's own transitions (never by raw SQL)."""

from __future__ import annotations

from datetime import datetime

from corral import ids
from corral.job import JSON, Job, NewJob
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store

WORKER = "worker-test"


def new_job(task: str = "noop", *, queue: str = "default", priority: int = 0,
            run_at: datetime | None = None, args: list[object] | None = None,
            max_attempts: int = 1, meta: dict[str, JSON] | None = None) -> NewJob:
    return NewJob(id=ids.uuid7(), task=task, args=args or [], kwargs={}, queue=queue,
                  priority=priority, run_at=run_at, max_attempts=max_attempts,
                  meta=meta or {})


def make_job(store: Store, status: JobStatus, *, worker: str = WORKER, **kwargs: object) -> Job:
    """A job in ``status``, reached by the transitions a real job goes through."""
    (job,) = store.enqueue_jobs([new_job(**kwargs)])  # type: ignore[arg-type]
    if status == JobStatus.QUEUED:
        return job
    if status == JobStatus.SCHEDULED:
        raise ValueError("give run_at in the future to new_job for a scheduled job")
    if status == JobStatus.CANCELLED:
        store.cancel_jobs([job.id], actor="test", reason="factory")
        return _get(store, job.id)
    claimed = store.claim_jobs(worker, [job.queue], 1)
    assert [c.id for c in claimed] == [job.id], "another queued job was in the way"
    running = claimed[0]
    if status == JobStatus.RUNNING:
        return running
    if status == JobStatus.CANCELLING:
        store.cancel_jobs([job.id], actor="test", reason="factory")
    elif status == JobStatus.COMPLETED:
        store.finish_jobs([Outcome.completed(job.id, worker, running.attempt, "ok")])
    elif status == JobStatus.FAILED:
        from corral.job import JobError

        store.finish_jobs([Outcome.failed(job.id, worker, running.attempt,
                                          JobError("ValueError", "factory"))])
    return _get(store, job.id)


def _get(store: Store, job_id: str) -> Job:
    job = store.get_job(job_id)
    assert job is not None
    return job
