"""``corral restart`` and ``corral reset-stuck``: bring jobs back, make stuck ones stop."""

from __future__ import annotations

from typing import Annotated

import typer

from corral import ids
from corral.app import Corral
from corral.bulk import BulkResult, StuckReset
from corral.cli import render
from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.status import JobStatus


@sel.command("restart", [JobStatus.FAILED, JobStatus.CANCELLED],
             sel.option("reason", sel.Reason))
def restart(app: Corral, job_ids: list[str], *, reason: str | None) -> BulkResult:
    """Put failed or cancelled jobs back in their queue: same id, fresh attempts.

    Active and completed jobs are refused (exit 4).
    Examples: corral restart 01a2b3c4-d5e6; corral restart --status failed --task reports.build
    """
    return app.restart_many(job_ids, reason=reason)


def _preview(app: Corral, would: StuckReset, older_than: str, as_json: bool) -> None:
    """What a dry run of ``reset-stuck`` found: which jobs would fail, which be cancelled."""
    found = app.list_jobs(ids=would.job_ids, limit=None) if would.job_ids else []
    jobs = {job.id: job for job in found}
    if as_json:
        render.json({"dry_run": True, "reset_count": would.count, "job_ids": would.job_ids,
                     "failed": would.failed, "cancelled": would.cancelled,
                     "jobs": list(jobs.values())})
        return
    for verb, job_ids in (("would fail (worker dead)", would.failed),
                          ("would cancel", would.cancelled)):
        for job_id in job_ids:
            job = jobs.get(job_id)
            render.info(f"{ids.short(job_id)}  {job.task if job else '?'}  "
                        f"{job.display_status if job else '?'}  {verb}  "
                        f"(worker {job.worker_id if job else '?'})")
    render.info(f"dry run: {would.count} job(s) running longer than {older_than} would be "
                f"reset ({len(would.failed)} failed, {len(would.cancelled)} cancelled); "
                "nothing changed")


def reset_stuck(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Jobs running longer than this (90s, 30m, 2h).")],
    reason: sel.Reason = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List the jobs it would fail or cancel; change nothing.")] = False,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Stop jobs that have been running longer than --older-than.

    Jobs of dead workers fail at once; the others are cancelled (their worker stops them).
    With --dry-run, nothing changes (no job, no worker marked dead): it lists which would.
    """
    with opened(db) as app:
        if dry_run:
            _preview(app, app.reset_stuck(older_than, reason=reason, dry_run=True),
                     older_than, as_json)
            return
        with render.working(f"resetting jobs running longer than {older_than}"):
            reset = app.reset_stuck(older_than, reason=reason)
        jobs = app.list_jobs(ids=reset, limit=None) if reset else []
        if as_json:
            render.json({"reset_count": len(reset), "job_ids": reset, "jobs": jobs})
            return
        for job in jobs:
            render.info(f"{ids.short(job.id)}  {job.task}  {job.display_status}  "
                        f"(worker {job.worker_id})")
        render.info(f"{len(reset)} job(s) running longer than {older_than} reset")
