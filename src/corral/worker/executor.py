"""Run one job and turn what happened into exactly one ``Outcome``."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from corral import errors, ids, retry
from corral.context import Context
from corral.job import Job, JobError
from corral.outcome import Outcome
from corral.store import codec
from corral.task import Task

logger = logging.getLogger("corral.worker")


@dataclass
class Execution:
    """A claimed job in this worker: its task, context and when it was claimed."""

    job: Job
    task: Task | None
    ctx: Context
    worker_id: str
    claimed_at: float = field(default_factory=time.monotonic)
    handing_back: str | None = None
    """Why the job goes back to the queue (shutdown, fencing) if it stops on the cancel
    that this sets; the attempt is not spent."""
    fenced: bool = False
    """Stopped because this worker cannot prove it is alive: no grace before a kill."""
    timed_out: bool = False
    """Set by the watchdog past the job's timeout: the cancel it sends ends in JobTimeout."""
    stalled: bool = False
    unresponsive: bool = False

    @property
    def job_id(self) -> str:
        return self.job.id

    def cancel_grace(self, default: float) -> float:
        """How long the job gets to stop after its cancel: its task's ``cancel_grace``,
        else ``default`` (the worker's setting)."""
        own = self.task.options.cancel_grace if self.task is not None else None
        return default if own is None else own

    def request_cancel(self, reason: str | None) -> None:
        self.ctx._request_cancel(reason)

    def hand_back(self, reason: str) -> None:
        """Stop it to give the job back to the queue."""
        self.handing_back = reason
        self.request_cancel(reason)


def call_sync(execution: Execution) -> Outcome:
    """Run a sync task on the calling thread."""
    task = execution.task
    if task is None:
        return unknown_task(execution)
    try:
        execution.ctx.checkpoint()
        result = task.fn(*_call_args(execution), **execution.job.kwargs)
    except BaseException as exc:  # every way out becomes an Outcome
        return outcome_of_error(execution, exc)
    return outcome_of_result(execution, result)


async def call_async(execution: Execution) -> Outcome:
    """Run an async task as its own asyncio task, so a cancel can ``Task.cancel()`` it."""
    task = execution.task
    if task is None:
        return unknown_task(execution)
    coroutine = task.fn(*_call_args(execution), **execution.job.kwargs)
    running: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
    execution.ctx._bind_async(running)
    try:
        result = await running
    except BaseException as exc:
        return outcome_of_error(execution, exc)
    return outcome_of_result(execution, result)


def _call_args(execution: Execution) -> list[Any]:
    assert execution.task is not None
    args = list(execution.job.args)
    return [execution.ctx, *args] if execution.task.takes_context else args


def unknown_task(execution: Execution) -> Outcome:
    error = JobError("UnknownTask", f"no task registered as {execution.job.task!r} in this "
                     "worker's app")
    return Outcome.failed(execution.job_id, execution.worker_id, execution.job.attempt, error,
                          phase=None)


def outcome_of_result(execution: Execution, result: Any) -> Outcome:
    job, ctx = execution.job, execution.ctx
    try:
        codec.encode_json(result, "the returned value")  # the store's own rules
    except errors.InvalidArguments as exc:
        error = JobError("InvalidResult", f"the task returned a value the store cannot keep: "
                         f"{exc.message}")
        return Outcome.failed(job.id, execution.worker_id, job.attempt, error,
                              phase=ctx.current_phase)
    return Outcome.completed(job.id, execution.worker_id, job.attempt, result,
                             phase=ctx.current_phase)


def outcome_of_error(execution: Execution, exc: BaseException) -> Outcome:
    """Cancelled -> cancelled; other errors -> retry while attempts and ``retry_on`` allow,
    else failed."""
    if isinstance(exc, errors.Cancelled | asyncio.CancelledError):
        return stopped_outcome(execution, "".join(traceback.format_exception(exc)))
    error = JobError(type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)))
    retry_on = execution.task.options.retry_on if execution.task else ()
    return failure_outcome(execution, error, retryable=isinstance(exc, retry_on))


def stopped_outcome(execution: Execution, trace: str | None = None) -> Outcome:
    """The code stopped because it was asked to: ``JobTimeout`` if the watchdog asked,
    else cancelled, keeping the phase it was in."""
    job, ctx = execution.job, execution.ctx
    if execution.timed_out:
        error = JobError("JobTimeout", f"the attempt ran past its timeout of {job.timeout:g}s",
                         trace)
        return failure_outcome(execution, error, retryable=True)
    reason = ctx.cancel_reason if ctx.cancelled else "the task raised Cancelled itself"
    return Outcome.cancelled(job.id, execution.worker_id, job.attempt,
                             phase=ctx.current_phase, reason=reason)


def failure_outcome(execution: Execution, error: JobError, *, retryable: bool) -> Outcome:
    """Retry while attempts remain and the error is ``retryable``, else fail. A job with a
    cancel pending is never retried: it failed, and the trail shows the cancel came late."""
    job, ctx = execution.job, execution.ctx
    cancel_pending = ctx.cancelled and not execution.timed_out
    if job.attempts_left > 0 and retryable and not cancel_pending:
        delay = retry.backoff_delay(job.attempt - job.attempt_offset)
        at = datetime.now(UTC) + timedelta(seconds=delay)
        logger.info("job %s failed (%s); retry %d/%d in %.1fs", ids.short(job.id), error.type,
                    job.attempt - job.attempt_offset + 1, job.max_attempts, delay)
        return Outcome.retry(job.id, execution.worker_id, job.attempt, error, at=at,
                             phase=ctx.current_phase)
    return Outcome.failed(job.id, execution.worker_id, job.attempt, error,
                          phase=ctx.current_phase)
