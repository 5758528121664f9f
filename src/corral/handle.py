"""Handles: what ``enqueue`` and ``batch`` return, an id with the app to ask about it."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from corral import errors, twins, waiters
from corral.batch import Batch
from corral.job import Job, JobEvent

if TYPE_CHECKING:
    from corral.app import Corral


class BatchHandle:
    """A reference to one batch and the handles of its jobs."""

    def __init__(self, app: Corral, batch_id: str, jobs: list[JobHandle]) -> None:
        self.app = app
        self.id = batch_id
        self.jobs = jobs

    def __repr__(self) -> str:
        return f"<BatchHandle {self.id} jobs={len(self.jobs)}>"

    def refresh(self) -> Batch:
        return self.app.get_batch(self.id)

    def cancel(self, *, reason: str | None = None, force: bool = False) -> dict[str, Any]:
        return self.app.cancel_batch(self.id, reason=reason, force=force)

    def wait(self, timeout: float | None = None, *, poll: float = 0.2) -> Batch:
        """Block until no job of the batch is active; ``JobWaitTimeout`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (batch := self.refresh()).is_finished:
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.JobWaitTimeout(self.id, batch.state, timeout or 0.0)
            time.sleep(min(poll, 0.05))
        return batch

    async def wait_async(self, timeout: float | None = None, *, poll: float = 0.2) -> Batch:
        """``wait`` on an event loop: the batch's counts are read in a thread, and the
        coroutine sleeps between reads without holding one. Polled like ``wait``, not
        woken by the process's watcher (which wakes waiters per job): one read per pause
        however large the batch, and the same answer as ``wait`` (a job of the batch
        restarted meanwhile keeps it waiting)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not (batch := await self.arefresh()).is_finished:
            if deadline is not None and loop.time() >= deadline:
                raise errors.JobWaitTimeout(self.id, batch.state, timeout or 0.0)
            pause = min(poll, 0.05)
            await asyncio.sleep(pause if deadline is None
                                else min(pause, max(deadline - loop.time(), 0.0)))
        return batch

    # -- async twins (DESIGN §3): the same calls in a thread, so an event loop never blocks

    arefresh = twins.async_twin(refresh)
    acancel = twins.async_twin(cancel)


class JobHandle:
    """A reference to one job. ``job`` is the last snapshot read; ``refresh()`` reads again."""

    def __init__(self, app: Corral, job: Job) -> None:
        self.app = app
        self.id = job.id
        self.job = job

    def __repr__(self) -> str:
        return f"<JobHandle {self.id} {self.job.status}>"

    @property
    def status(self) -> str:
        return self.job.status

    def refresh(self) -> Job:
        self.job = self.app.get_job(self.id)
        return self.job

    def wait(self, timeout: float | None = None, *, poll: float = 0.2) -> Job:
        """Block until the job is terminal and return it; ``JobWaitTimeout`` after
        ``timeout`` seconds. Polls from 5 ms, backing off to ``poll``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while not self.refresh().is_terminal:
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.JobWaitTimeout(self.id, self.job.status, timeout or 0.0)
            pause = delay if deadline is None else min(delay, max(deadline - time.monotonic(),
                                                                  0.0))
            time.sleep(pause)
            delay = min(delay * 2, poll)
        return self.job

    async def wait_async(self, timeout: float | None = None) -> Job:
        """``wait`` on an event loop: woken by the process's one watcher of the store."""
        self.job = await waiters.wait_for_job(self.app.settings.database_url, self.id,
                                              self.refresh, timeout)
        return self.job

    def cancel(
        self, *, reason: str | None = None, force: bool = False, actor: str | None = None
    ) -> Job:
        self.job = self.app.cancel(self.id, reason=reason, force=force, actor=actor)
        return self.job

    def restart(self, *, reason: str | None = None, actor: str | None = None) -> Job:
        self.job = self.app.restart(self.id, reason=reason, actor=actor)
        return self.job

    def run_now(self, *, actor: str | None = None) -> Job:
        """A scheduled job due at once (``Corral.run_now``)."""
        self.job = self.app.run_now(self.id, actor=actor)
        return self.job

    def events(self) -> list[JobEvent]:
        return self.app.job_events(self.id)

    # -- async twins (DESIGN §3): the same calls in a thread, so an event loop never blocks

    arefresh = twins.async_twin(refresh)
    acancel = twins.async_twin(cancel)
    arestart = twins.async_twin(restart)
    arun_now = twins.async_twin(run_now)
    aevents = twins.async_twin(events)
