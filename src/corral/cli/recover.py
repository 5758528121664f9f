"""``corral restart`` and ``corral reset-stuck``: bring jobs back, make stuck ones stop."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.cli import render
from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.status import JobStatus
from corral.store.base import JobFilter


def restart(
    job_ids: sel.Ids = None,
    batch: sel.BatchId = None,
    everything: sel.Everything = False,
    status: sel.Status = None,
    queue: sel.Queue = None,
    task: sel.TaskName = None,
    older_than: sel.OlderThan = None,
    reason: sel.Reason = None,
    yes: sel.Yes = False,
    dry_run: sel.DryRun = False,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Put failed or cancelled jobs back in their queue, same id, fresh attempts. Active and
    completed jobs are refused (exit 4).

    corral restart 0197ab12cd;  corral restart --status failed --task reports.build
    """
    filters = sel.Filters(sel.statuses(status), queue, task, batch, older_than)
    with opened(db) as app:
        jobs, confirm = sel.select(app, job_ids, filters, everything,
                                   default_status=[JobStatus.FAILED, JobStatus.CANCELLED])
        question = (f"Restart {len(jobs)} job(s) ({filters.describe()})?"
                    if confirm and not yes else None)
        sel.act(app, "restart", jobs, lambda matched: app.restart_many(matched, reason=reason),
                ask=question, dry_run=dry_run, as_json=as_json)


def reset_stuck(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Jobs running longer than this (90s, 30m, 2h).")],
    reason: sel.Reason = None,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Stop jobs that have been running too long: those of dead workers fail at once, the
    others are cancelled (their worker stops them)."""
    with opened(db) as app:
        with render.working(f"resetting jobs running longer than {older_than}"):
            reset = app.reset_stuck(older_than, reason=reason)
        jobs = app.store.list_jobs(JobFilter(ids=tuple(reset)), limit=None) if reset else []
        if as_json:
            render.json({"reset_count": len(reset), "job_ids": reset, "jobs": jobs})
            return
        for job in jobs:
            render.info(f"{job.id}  {job.task}  {job.display_status}  (worker {job.worker_id})")
        render.info(f"{len(reset)} job(s) running longer than {older_than} reset")
