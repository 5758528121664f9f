"""``corral restart`` and ``corral reset-stuck``: bring jobs back, make stuck ones stop."""

from __future__ import annotations

from typing import Annotated

import typer

from corral import ids
from corral.app import Corral
from corral.bulk import BulkResult
from corral.cli import render
from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.status import JobStatus
from corral.store.base import JobFilter


@sel.command("restart", [JobStatus.FAILED, JobStatus.CANCELLED],
             sel.option("reason", sel.Reason))
def restart(app: Corral, job_ids: list[str], *, reason: str | None) -> BulkResult:
    """Put failed or cancelled jobs back in their queue: same id, fresh attempts.

    Active and completed jobs are refused (exit 4).
    Examples: corral restart 01a2b3c4-d5e6; corral restart --status failed --task reports.build
    """
    return app.restart_many(job_ids, reason=reason)


def reset_stuck(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Jobs running longer than this (90s, 30m, 2h).")],
    reason: sel.Reason = None,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Stop jobs that have been running longer than --older-than.

    Jobs of dead workers fail at once; the others are cancelled (their worker stops them).
    """
    with opened(db) as app:
        with render.working(f"resetting jobs running longer than {older_than}"):
            reset = app.reset_stuck(older_than, reason=reason)
        jobs = app.store.list_jobs(JobFilter(ids=tuple(reset)), limit=None) if reset else []
        if as_json:
            render.json({"reset_count": len(reset), "job_ids": reset, "jobs": jobs})
            return
        for job in jobs:
            render.info(f"{ids.short(job.id)}  {job.task}  {job.display_status}  "
                        f"(worker {job.worker_id})")
        render.info(f"{len(reset)} job(s) running longer than {older_than} reset")
