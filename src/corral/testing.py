"""Helpers for testing your own tasks (DESIGN §13), as Oban.Testing and rivertest do.

- ``drain(app)``: run every due job in this process until none is left; returns them.
- ``run(task, *args, cancel_at=None, **kwargs)``: run one job now; returns its final Job.
- ``with worker(app) as w``: a real worker on threads for the block.
- ``with isolated(app, url)``: your module-level app on a fresh store for the block.
- ``pytest -p corral.testing``: fixtures ``corral_app`` and ``corral_worker``.

Every helper runs jobs with a real ``corral.Worker`` on threads of this process, with real
Contexts on the app's own store: what a test sees is what production does, except that a
retry's backoff is skipped (the job is made due at once with ``run_now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corral import errors
from corral.app import Corral
from corral.context import Context, Reporter
from corral.job import JSON, Job
from corral.status import JobStatus
from corral.store.base import FinishResult
from corral.task import Task
from corral.worker.worker import Worker

ACTOR = "corral.testing"
"""Who the trail names for what these helpers do (skipping a backoff, a ``cancel_at``)."""
DEFAULT_TIMEOUT = 30.0
POLL = 0.01
"""Seconds between two looks at the store while waiting for jobs to finish."""
CONCURRENCY = 4
_UNFINISHED = (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.RUNNING,
               JobStatus.CANCELLING)


def drain(app: Corral, queues: Sequence[str] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> list[Job]:
    """Run the jobs of ``queues`` (default: the queues of ``app``'s tasks) in this process
    until none is left to run, and return the final Jobs it ran in the order they finished.

    Jobs that tasks enqueue meanwhile run too, and so do batches' ``on_complete`` jobs. A
    job scheduled for later runs once it is due, if that is before ``timeout``; a job
    scheduled past it is left scheduled. A retry's backoff is skipped: a task with
    ``max_attempts=3`` that always fails ends ``failed`` after 3 attempts in one drain.
    Raises ``TimeoutError`` if jobs are still due or running after ``timeout`` seconds
    (those still running are handed back to the queue).
    """
    return _TestWorker(app, _queue_names(app, queues), concurrency=CONCURRENCY).drain(timeout)


def run(task: Task, *args: JSON, cancel_at: int | None = None, **kwargs: JSON) -> Job:
    """Enqueue one job of ``task`` and run it now in this process; return its final Job.

    The job runs on a queue of its own (``job.queue`` is ``corral-testing-...``), so other
    jobs waiting in the store are left alone; retries' backoff is skipped, as in
    ``drain``. ``cancel_at=N`` cancels the job at its N-th checkpoint (``ctx.checkpoint()``,
    ``ctx.progress()``, entering or leaving ``ctx.phase()``, leaving ``ctx.shield()``), as
    a user's cancel would: that checkpoint raises ``corral.Cancelled``, ``finally`` blocks
    run, the job ends ``cancelled`` and keeps what ``ctx.save`` stored. Raises
    ``JobWaitTimeout`` if the job is not finished after 30 seconds.
    """
    if cancel_at is not None and (isinstance(cancel_at, bool) or not isinstance(cancel_at, int)
                                  or cancel_at < 1):
        raise errors.ConfigError(f"cancel_at must be a checkpoint number from 1, got "
                                 f"{cancel_at!r}")
    if cancel_at is not None and task.options.isolation == "process":
        raise errors.ConfigError("cancel_at counts the checkpoints of tasks run on a thread "
                                 "or the event loop, not in a child process")
    queue = f"corral-testing-{uuid.uuid4().hex[:12]}"
    handle = task.s(*args, **kwargs).set(queue=queue).enqueue()
    runner = _TestWorker(task.app, (queue,), concurrency=1,
                         cancel_at={handle.id: cancel_at} if cancel_at else {})
    try:
        runner.drain(DEFAULT_TIMEOUT)
    except TimeoutError as exc:
        job = handle.refresh()
        raise errors.JobWaitTimeout(handle.id, job.status, DEFAULT_TIMEOUT) from exc
    return handle.refresh()


@contextlib.contextmanager
def worker(app: Corral, queues: Sequence[str] | None = None,
           concurrency: int = CONCURRENCY) -> Iterator[Worker]:
    """A started ``corral.Worker`` on threads of this process for the block (default: the
    queues of ``app``'s tasks, else ``default``). Tasks registered on ``app`` inside the
    block run too if their queue is served. Jobs still running when the block ends are
    cancelled and handed back to the queue."""
    running = Worker(app, queues=_queue_names(app, queues), concurrency=concurrency)
    running.start()
    try:
        yield running
    finally:
        running.stop(grace=0)


@contextlib.contextmanager
def isolated(app: Corral, database_url: str) -> Iterator[Corral]:
    """Your own ``app`` (its tasks registered at import) on ``database_url`` for the block,
    then back on its own store: a fresh SQLite file per test, for an app built once at
    module level (the ``corral_app`` fixture is a new, empty app instead)::

        @pytest.fixture(autouse=True)
        def jobs_store(tmp_path):
            with corral.testing.isolated(jobs, f"sqlite:///{tmp_path}/jobs.db"):
                yield
    """
    own = app.settings
    app.close()
    app.settings = dataclasses.replace(own, database_url=database_url)
    try:
        yield app
    finally:
        app.close()
        app.settings = own


def _queue_names(app: Corral, queues: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(queues, str):
        return (queues,)
    if queues is not None:
        return tuple(queues)
    return tuple(sorted({task.options.queue for task in app.tasks.values()})) or ("default",)


class _TestWorker(Worker):
    """A worker that notes which jobs it ran and can cancel one at a chosen checkpoint."""

    def __init__(self, app: Corral, queues: tuple[str, ...], *, concurrency: int,
                 cancel_at: dict[str, int] | None = None) -> None:
        super().__init__(app, queues=queues, concurrency=concurrency)
        self._cancel_at = cancel_at or {}
        # Written by the recorder thread (_recorded), read by drain after the worker stops.
        self._ran: dict[str, None] = {}  # job ids, in the order their last outcome landed
        self._ran_lock = threading.Lock()

    def drain(self, timeout: float) -> list[Job]:
        deadline = time.monotonic() + timeout
        until = datetime.now(UTC) + timedelta(seconds=timeout)
        self.start()
        try:
            self._wait_drained(deadline, until, timeout)
        finally:
            self.stop(grace=0)
        with self._ran_lock:
            order = list(self._ran)
        found = {job.id: job for job in self.app.list_jobs(ids=order, limit=None)}
        return [found[job_id] for job_id in order if job_id in found]

    def _wait_drained(self, deadline: float, until: datetime, timeout: float) -> None:
        """Poll the store until no job of our queues is queued, running, cancelling or
        scheduled before ``until``, making retries due at once on the way."""
        while True:
            jobs = [job for job in self.app.list_jobs(status=_UNFINISHED, limit=None)
                    if job.queue in self.queues]
            retries = [job.id for job in jobs if job.status == JobStatus.SCHEDULED
                       and job.attempt > job.attempt_offset]
            if retries:
                self.app.store.run_now(retries, actor=ACTOR)
            left = [job for job in jobs if job.status != JobStatus.SCHEDULED
                    or job.id in retries or job.run_at is None or job.run_at <= until]
            if not left and not self.app.store.complete_batches(actor=ACTOR):
                return
            if time.monotonic() >= deadline:
                shown = ", ".join(f"{job.id} ({job.status})" for job in left[:5])
                raise TimeoutError(f"{len(left)} job(s) still to run after {timeout:g}s: "
                                   f"{shown}")
            time.sleep(POLL)

    def _recorded(self, result: FinishResult) -> None:
        if result.recorded:
            with self._ran_lock:
                self._ran.pop(result.job_id, None)
                self._ran[result.job_id] = None
        super()._recorded(result)

    def _context(self, job: Job, *, phases: tuple[str, ...],
                 loop: asyncio.AbstractEventLoop | None) -> Context:
        at = self._cancel_at.get(job.id)
        if at is None:
            return super()._context(job, phases=phases, loop=loop)
        return _CancelAt(job, self.recorder, phases=phases, loop=loop, app=self.app, at=at)


class _CancelAt(Context):
    """A context that cancels its job at its ``at``-th checkpoint: through the store, as
    a user's cancel (``running -> cancelling``), and on the context at once, as the
    worker's listener would on hearing of it, so that very checkpoint raises."""

    def __init__(self, job: Job, reporter: Reporter, *, phases: tuple[str, ...],
                 loop: asyncio.AbstractEventLoop | None, app: Corral, at: int) -> None:
        super().__init__(job, reporter, phases=phases, loop=loop)
        self._app = app
        self._at = at
        self._seen = 0  # checkpoints the task made; its own thread (or loop) only

    def checkpoint(self) -> None:
        # The executor's checkpoint before the task starts is not one of the task's.
        if sys._getframe(1).f_globals.get("__name__") != "corral.worker.executor":
            self._seen += 1
            if self._seen == self._at:
                reason = f"cancel_at={self._at}"
                self._app.cancel(self.job.id, reason=reason, actor=ACTOR)
                self._request_cancel(reason)
        super().checkpoint()


# -- pytest plugin: ``pytest -p corral.testing`` ------------------------------------------

if importlib.util.find_spec("pytest") is not None:
    import pytest

    @pytest.fixture
    def corral_app(tmp_path: Path) -> Iterator[Corral]:
        """A ``Corral`` on a fresh, migrated SQLite file of this test; closed after it."""
        app = Corral(f"sqlite:///{tmp_path / 'corral.db'}")
        app.store.migrate()
        yield app
        app.close()

    @pytest.fixture
    def corral_worker(corral_app: Corral) -> Iterator[Worker]:
        """A worker on threads for the test, on ``corral_app``'s store. It runs the tasks
        registered on ``corral_app``, even in the test's body, but serves only ``default``
        and the queues of tasks registered before it starts: for others, use
        ``with corral.testing.worker(corral_app, queues=[...])``."""
        queues = {"default", *_queue_names(corral_app, None)}
        with worker(corral_app, queues=sorted(queues)) as running:
            yield running
