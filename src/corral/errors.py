"""The exception tree. Every error carries its context as attributes.

    CorralError
    ├── ConfigError              a setting or task option is invalid
    ├── InvalidArguments         arguments, kwargs, result or meta not JSON
    ├── UnknownTask              no task registered under that name
    ├── InvalidJobId             (job_id) too short or not hex to name a job
    ├── JobNotFound              (job_id)
    ├── AmbiguousId              (job_id, candidates) a short id naming several jobs
    ├── JobAlreadyFinished       (job_id, status) cancel of a terminal job
    ├── JobNotRestartable        (job_id, status) restart of a job not failed/cancelled
    ├── JobNotScheduled          (job_id, status) run-now of a job that is not scheduled
    ├── BatchNotFound            (batch_id)
    ├── JobActive                (job_id, status) delete of a job that has not finished
    ├── StoreError               the store cannot be opened or reached
    └── JobWaitTimeout           JobHandle.wait ran out of time (also a TimeoutError)

    Cancelled (BaseException)    raised inside a task at a checkpoint

``Cancelled`` derives from ``BaseException`` for the reason ``asyncio.CancelledError``
does: a task's ``except Exception:`` must not swallow a cancel.
"""

from __future__ import annotations

from typing import Any


class CorralError(Exception):
    """Base of every error corral raises on purpose."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)


class ConfigError(CorralError, ValueError):
    """A setting, duration or task option is invalid."""


class InvalidArguments(CorralError, ValueError):
    """Arguments, keyword arguments, results or meta must be plain JSON."""


class UnknownTask(CorralError, LookupError):
    """No task is registered under that name."""

    def __init__(self, task: str) -> None:
        super().__init__(f"no task registered as {task!r}", task=task)


class JobNotFound(CorralError, LookupError):
    """No job has that id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} not found", job_id=job_id)


class InvalidJobId(CorralError, ValueError):
    """Text given as a job id that cannot name one: fewer than 6 hex digits, or not hex
    (a full id, or a prefix or suffix of one, DESIGN §1)."""

    def __init__(self, job_id: str, why: str) -> None:
        super().__init__(f"{job_id!r} is not a job id: {why}", job_id=job_id)


class AmbiguousId(CorralError):
    """A short id (a prefix or suffix of 6+ hex digits) that matches more than one job:
    ``candidates`` holds their full ids, newest first (at most a few)."""

    def __init__(self, job_id: str, candidates: list[str], described: list[str],
                 more: bool) -> None:
        listed = ", ".join(described) + (", ..." if more else "")
        super().__init__(
            f"{job_id!r} matches {'more than ' if more else ''}{len(candidates)} jobs: "
            f"{listed}; give more digits (the short id is the last 12)",
            job_id=job_id, candidates=candidates)


class BatchNotFound(CorralError, LookupError):
    """No batch has that id."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(f"batch {batch_id} not found", batch_id=batch_id)


class JobActive(CorralError):
    """The job has not finished; it cannot be deleted (cancel it first)."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is still {status}; cancel it before deleting",
                         job_id=job_id, status=status)


class JobAlreadyFinished(CorralError):
    """The job is terminal; it cannot be cancelled."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} already finished ({status})", job_id=job_id, status=status)


class JobNotRestartable(CorralError):
    """Only failed or cancelled jobs can be restarted (active ones are still running,
    completed ones are done)."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is {status}; only failed or cancelled jobs restart",
                         job_id=job_id, status=status)


class JobNotScheduled(CorralError):
    """Only a scheduled job (delayed, cron, retry backoff) can be run now: a queued one is
    due already, a running or finished one has started."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is {status}; only a scheduled job can run now",
                         job_id=job_id, status=status)


class StoreError(CorralError):
    """The store cannot be opened, migrated or reached."""


class JobWaitTimeout(CorralError, TimeoutError):
    """The job did not finish within the time given to ``wait``."""

    def __init__(self, job_id: str, status: str, timeout: float) -> None:
        super().__init__(
            f"job {job_id} still {status} after {timeout:g}s",
            job_id=job_id,
            status=status,
            timeout=timeout,
        )


class Cancelled(BaseException):  # noqa: N818 - the name users write: `except corral.Cancelled`
    """Raised inside a running task at a checkpoint once a cancel is pending."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "cancelled")
        self.reason = reason
