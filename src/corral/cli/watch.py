"""``corral watch``: follow a job (or a batch) live until it ends, and exit with its outcome.

It polls the store (a primary-key read every ``--interval``): any number of watchers, no
server, no notification channel to hold. Ctrl+C stops the watching, never the job.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from corral import errors, ids
from corral.app import Corral
from corral.cli import render
from corral.cli.session import DEFAULT_DB, JOB_ID_HELP, Db, opened
from corral.job import Job
from corral.status import JobStatus

EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by Ctrl+C"


class NotCompleted(errors.CorralError):
    """The watched job (or a job of the watched batch) failed or was cancelled."""


def watch(
    job_id: Annotated[str | None, typer.Argument(
        help=JOB_ID_HELP, show_default=False)] = None,
    batch: Annotated[str | None, typer.Option("--batch", "-b", help="Watch a batch.")] = None,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.05, help="Seconds between reads of the store.")] = 0.2,
    db: Db = DEFAULT_DB,
) -> None:
    """Follow a job (or --batch) live until it ends, and exit with its outcome.

    A progress bar per job with its status, phase and message (a line per change when the
    output is not a terminal). Exit 0 when it completed, 1 when it failed or was
    cancelled. Ctrl+C stops the watching only, never the job (exit 130).
    """
    if (job_id is None) == (batch is None):
        raise errors.ConfigError("watch needs a job id or --batch BATCH_ID (one of them)")
    with opened(db) as app:
        try:
            if batch is not None:
                _watch_batch(app, batch, interval)
            else:
                _watch_job(app, app.resolve_id(job_id or ""), interval)
        except KeyboardInterrupt:
            render.info("stopped watching; the job goes on (corral cancel to stop it)")
            raise typer.Exit(EXIT_INTERRUPTED) from None


def _watch_job(app: Corral, job_id: str, interval: float) -> None:
    with render.Board() as board:
        while True:
            job = app.get_job(job_id)
            board.show([job])
            if job.is_terminal:
                break
            time.sleep(interval)
    if job.status != JobStatus.COMPLETED:
        raise NotCompleted(_ending(job), job_id=job.id, status=str(job.status))
    render.outcome(job)


def _watch_batch(app: Corral, batch_id: str, interval: float) -> None:
    with render.Board() as board:
        while True:
            state = app.get_batch(batch_id)
            jobs = app.list_jobs(batch_id=batch_id, limit=None)
            board.show(sorted(jobs, key=lambda job: job.id), state)
            if state.is_finished:
                break
            time.sleep(interval)
    counts = ", ".join(f"{n} {status}" for status, n in state.counts.items() if n)
    if state.state != "completed":
        raise NotCompleted(f"batch {batch_id} {state.state}: {counts}", batch_id=batch_id,
                           status=state.state)
    render.info(f"batch {batch_id} completed: {counts}")


def _ending(job: Job) -> str:
    """How a job that did not complete ended, in one line."""
    if job.status == JobStatus.CANCELLED:
        where = f" in phase {job.phase}" if job.phase else ""
        return (f"job {ids.short(job.id)} cancelled{where} by {job.cancelled_by or 'the system'}: "
                f"{job.cancel_reason or 'no reason given'}")
    error = f"{job.error.type}: {job.error.message}" if job.error else "no error recorded"
    return f"job {ids.short(job.id)} failed: {error}"
