"""The job state machine, as data.

Every transition the stores perform is one guarded UPDATE; the pairs they may produce are
listed in ``TRANSITIONS`` and a test checks that the audit trail of real runs never shows a
move outside this table. See ``docs/states.md`` for the diagram.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life."""

    SCHEDULED = "scheduled"
    """Waiting for ``run_at`` (a delayed job, or a retry in backoff)."""
    QUEUED = "queued"
    """Ready to run; the next free worker slot on its queue claims it."""
    RUNNING = "running"
    """Claimed by a worker (``worker_id``) and executing attempt ``attempt``."""
    CANCELLING = "cancelling"
    """Running, with a cancel requested; the worker stops it at the next checkpoint."""
    COMPLETED = "completed"
    """Returned normally; ``result`` holds the return value. Terminal."""
    FAILED = "failed"
    """Raised on its last attempt (or its worker was lost); ``error`` says why. Terminal."""
    CANCELLED = "cancelled"
    """Stopped on request, before or while running; partial results kept. Terminal."""

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        return self in ACTIVE


TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
ACTIVE: frozenset[JobStatus] = frozenset(JobStatus) - TERMINAL
PENDING: frozenset[JobStatus] = frozenset({JobStatus.SCHEDULED, JobStatus.QUEUED})
"""Not started: a cancel ends these at once."""
IN_FLIGHT: frozenset[JobStatus] = frozenset({JobStatus.RUNNING, JobStatus.CANCELLING})
"""Held by a worker: writes to these are fenced by ``worker_id`` and ``attempt``."""

S = JobStatus
TRANSITIONS: frozenset[tuple[JobStatus | None, JobStatus]] = frozenset(
    {
        (None, S.QUEUED),  # enqueued
        (None, S.SCHEDULED),  # enqueued with run_at in the future
        (S.SCHEDULED, S.QUEUED),  # run_at reached, or run now (run_at set to now)
        (S.QUEUED, S.RUNNING),  # claimed
        (S.RUNNING, S.COMPLETED),
        (S.RUNNING, S.FAILED),  # error, no attempts left
        (S.RUNNING, S.SCHEDULED),  # error, retry after backoff
        (S.RUNNING, S.QUEUED),  # worker lost (attempts left), or handed back at shutdown
        (S.RUNNING, S.CANCELLING),  # cancel requested
        (S.RUNNING, S.CANCELLED),  # forced cancel
        (S.CANCELLING, S.CANCELLED),  # stopped at a checkpoint, or forced
        (S.CANCELLING, S.COMPLETED),  # cancel came too late
        (S.CANCELLING, S.FAILED),  # cancel came too late
        (S.QUEUED, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
        (S.FAILED, S.QUEUED),  # restart
        (S.CANCELLED, S.QUEUED),  # restart
    }
)
"""Every (from, to) move the stores make today; ``None`` is "did not exist". A test drives
every operation and checks the trails show exactly these moves."""
del S

QUARANTINE: frozenset[tuple[JobStatus | None, JobStatus]] = frozenset(
    {(status, JobStatus.FAILED) for status in JobStatus if status != JobStatus.FAILED}
    | {(None, JobStatus.FAILED)}
)
"""The one move outside ``TRANSITIONS``: a row the store cannot read back (an older
version's or a manual edit's) is set aside as ``failed`` with error ``CorruptJob``, from
whatever it was (``None``: a status that is not one), with a ``quarantined`` trail row.
See ``corral.store.quarantine``."""
