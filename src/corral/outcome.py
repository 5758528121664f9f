"""How one execution ended, as a named value the store can record.

The worker never writes loose columns: it turns what happened into an ``Outcome`` made by
one of the named constructors, and ``Store.finish_jobs`` records a batch of them. Every
outcome names the attempt it belongs to (``worker_id`` + ``attempt``), so a worker that lost
the job cannot overwrite the job's new life.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from corral.job import JSON, JobError


class OutcomeKind(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    RETRY = "retry"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Outcome:
    job_id: str
    worker_id: str
    attempt: int
    kind: OutcomeKind
    result: JSON = None
    has_result: bool = False
    error: JobError | None = None
    retry_at: datetime | None = None
    phase: str | None = None
    reason: str | None = None
    ended_at: float = field(default_factory=time.time)
    """When the execution stopped (epoch seconds): cancel latency is measured to here."""

    @classmethod
    def completed(
        cls, job_id: str, worker_id: str, attempt: int, result: JSON, *, phase: str | None = None
    ) -> Outcome:
        return cls(job_id, worker_id, attempt, OutcomeKind.COMPLETED, result=result,
                   has_result=True, phase=phase)

    @classmethod
    def failed(
        cls, job_id: str, worker_id: str, attempt: int, error: JobError, *,
        phase: str | None = None,
    ) -> Outcome:
        return cls(job_id, worker_id, attempt, OutcomeKind.FAILED, error=error, phase=phase)

    @classmethod
    def retry(
        cls, job_id: str, worker_id: str, attempt: int, error: JobError, *, at: datetime,
        phase: str | None = None,
    ) -> Outcome:
        return cls(job_id, worker_id, attempt, OutcomeKind.RETRY, error=error, retry_at=at,
                   phase=phase)

    @classmethod
    def cancelled(
        cls, job_id: str, worker_id: str, attempt: int, *, phase: str | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Stopped on request; partial results saved with ``ctx.save`` stay on the job."""
        return cls(job_id, worker_id, attempt, OutcomeKind.CANCELLED, phase=phase, reason=reason)
