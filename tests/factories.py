"""Put jobs into any state through the store's own transitions (enqueue, claim, cancel,
finish), on every backend. Only what no operation can do is done by SQL, in ``backdate``:
moving timestamps into the past (time cannot be made to pass faster)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from corral import ids
from corral.batch import NewBatch
from corral.job import JSON, Job, JobError, NewJob
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store import Store
from corral.store.base import Liveness, WorkerInfo
from tests import corrupt

WORKER = "worker-test"
LATER = timedelta(hours=1)
"""How far ahead a scheduled job made without ``run_at`` is due."""


def new_job(task: str = "noop", *, queue: str = "default", priority: int = 0,
            run_at: datetime | None = None, args: list[object] | None = None,
            max_attempts: int = 1, meta: dict[str, JSON] | None = None,
            timeout: float | None = None, batch_id: str | None = None,
            limit_key: str | None = None, key_limit: int | None = None,
            unique_key: str | None = None) -> NewJob:
    return NewJob(id=ids.uuid7(), task=task, args=args or [], kwargs={}, queue=queue,
                  priority=priority, run_at=run_at, max_attempts=max_attempts,
                  meta=meta or {}, timeout=timeout, batch_id=batch_id,
                  limit_key=limit_key, key_limit=key_limit, unique_key=unique_key)


def make_job(store: Store, status: JobStatus, *, worker: str = WORKER,
             dead_worker: bool = False, batch: str | None = None,
             cancelled_by: str | None = "test", cancel_reason: str | None = "factory",
             age: timedelta | None = None, **kwargs: object) -> Job:
    """A job in ``status``, reached by the transitions a real job goes through.

    ``kwargs`` go to ``new_job`` (queue, task, run_at, meta, limit_key, unique_key, ...).
    A scheduled job is due ``run_at`` (default: an hour from now). A running, cancelling
    or finished job ran on ``worker``, unregistered; with ``dead_worker`` registered as a
    worker that died (``register_worker(alive=False)``: a reaper recovers its jobs at once).
    For a live worker, register it first and keep its lock:
    ``lock = register_worker(store, "w"); make_job(store, S.RUNNING, worker="w")``.
    ``batch`` is a batch id (the batch is made if it does not exist). ``cancelled_by`` /
    ``cancel_reason``: the actor and reason of the cancel of a cancelling or cancelled job.
    ``age`` backdates every timestamp of the job and its trail by that much (created,
    started, finished, cancel requested): a job made ``age`` ago.
    """
    if status == JobStatus.SCHEDULED and kwargs.get("run_at") is None:
        kwargs["run_at"] = datetime.now(UTC) + LATER
    new_batch = None
    if batch is not None:
        kwargs["batch_id"] = batch
        new_batch = NewBatch(batch, batch) if store.get_batch(batch) is None else None
    (job,) = store.enqueue_jobs([new_job(**kwargs)], batch=new_batch)  # type: ignore[arg-type]
    if status not in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        job = _advance(store, job, status, worker=worker, cancelled_by=cancelled_by,
                       cancel_reason=cancel_reason)
    if dead_worker:
        register_worker(store, worker, alive=False)
    assert status == JobStatus.QUEUED or job.status == status, (job.status, status)
    if age is not None:
        backdate(store, job.id, age)
        return _get(store, job.id)
    return job


def _advance(store: Store, job: Job, status: JobStatus, *, worker: str,
             cancelled_by: str | None, cancel_reason: str | None) -> Job:
    """From queued to ``status``: cancelled at once, or claimed by ``worker`` and on."""
    if status == JobStatus.CANCELLED:
        store.cancel_jobs([job.id], actor=cancelled_by, reason=cancel_reason)
        return _get(store, job.id)
    claimed = store.claim_jobs(worker, [job.queue], 1)
    assert [c.id for c in claimed] == [job.id], "another queued job was in the way"
    running = claimed[0]
    if status == JobStatus.CANCELLING:
        store.cancel_jobs([job.id], actor=cancelled_by, reason=cancel_reason)
    elif status == JobStatus.COMPLETED:
        store.finish_jobs([Outcome.completed(job.id, worker, running.attempt, "ok")])
    elif status == JobStatus.FAILED:
        store.finish_jobs([Outcome.failed(job.id, worker, running.attempt,
                                          JobError("ValueError", "factory"))])
    return running if status == JobStatus.RUNNING else _get(store, job.id)


def register_worker(store: Store, worker_id: str = WORKER, *, alive: bool = True,
                    queues: tuple[str, ...] = ("default",),
                    doorbell: str | None = None) -> Liveness:
    """Register ``worker_id`` on this host as a worker does, holding its liveness lock.

    ``alive=True``: the caller keeps the lock and releases it (a live worker). ``alive=False``:
    the lock is released at once and already seen free long ago, so a reaper (or
    ``reset_stuck``) takes the worker for dead at once on every store; its registry state
    stays ``running`` until a reaper declares it dead."""
    lock = store.acquire_liveness(worker_id)
    store.register_worker(WorkerInfo(worker_id, socket.gethostname(), 1, queues, 4, "t",
                                     doorbell))
    if not alive:
        lock.release()
        _seen_free_long_ago(store, worker_id)
    return lock


def backdate(store: Store, job_id: str, by: timedelta) -> None:
    """Move every timestamp of a job and of its trail ``by`` into the past (for older_than,
    retention and stuck-job tests): no operation can, so this is SQL, per backend."""
    sqlite = _is_sqlite(store)
    shift = "{0} = {0} - :s" if sqlite else "{0} = {0} - make_interval(secs => %(s)s)"
    job = ":id" if sqlite else "%(id)s"
    columns = ("created_at", "run_at", "started_at", "finished_at", "heartbeat_at",
               "cancel_requested_at", "stalled_at", "unresponsive_at")
    params = {"s": by.total_seconds(), "id": job_id}
    corrupt.execute(store.url, f"UPDATE jobs SET {', '.join(map(shift.format, columns))} "
                    f"WHERE id = {job}", params)
    corrupt.execute(store.url, f"UPDATE job_events SET {shift.format('at')} "
                    f"WHERE job_id = {job}", params)


def _seen_free_long_ago(store: Store, worker_id: str) -> None:
    """PostgreSQL's reaper trusts a free lock seen free twice LOCK_CONFIRM apart: record
    the first sighting an hour ago (SQLite trusts its file lock at once)."""
    if not _is_sqlite(store):
        corrupt.execute(store.url, "UPDATE workers SET lock_free_since = now() - "
                        "interval '1 hour' WHERE id = %(id)s", {"id": worker_id})


def _is_sqlite(store: Store) -> bool:
    return store.url.startswith("sqlite")


def _get(store: Store, job_id: str) -> Job:
    job = store.get_job(job_id)
    assert job is not None
    return job
