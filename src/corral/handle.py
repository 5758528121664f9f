"""``JobHandle``: what ``enqueue`` returns, a job id with the app to ask about it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from corral import errors
from corral.job import Job, JobEvent

if TYPE_CHECKING:
    from corral.app import Corral


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

    def cancel(
        self, *, reason: str | None = None, force: bool = False, actor: str | None = None
    ) -> Job:
        self.job = self.app.cancel(self.id, reason=reason, force=force, actor=actor)
        return self.job

    def restart(self, *, reason: str | None = None, actor: str | None = None) -> Job:
        self.job = self.app.restart(self.id, reason=reason, actor=actor)
        return self.job

    def events(self) -> list[JobEvent]:
        return self.app.job_events(self.id)
