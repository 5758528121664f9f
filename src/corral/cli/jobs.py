"""``corral jobs list`` and ``corral jobs show``: find jobs and read their audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.app import Corral
from corral.cli import render
from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, JobId, read
from corral.job import Job, JobEvent

jobs = typer.Typer(name="jobs", no_args_is_help=True, rich_markup_mode="markdown",
                   help="Find jobs and read their trail.")


@jobs.command("list")
def list_jobs(
    status: sel.Status = None,
    queue: sel.Queue = None,
    task: sel.TaskName = None,
    batch: sel.BatchId = None,
    older_than: sel.OlderThan = None,
    newer_than: sel.NewerThan = None,
    meta: sel.Meta = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N.")] = 50,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Jobs newest first, with status, progress, phase, age and worker.

    Example: corral jobs list --meta client=Datadog --status running,failed --newer-than 1h
    """
    labels = sel.labels(meta)
    read(db, as_json,
         lambda app: app.list_jobs(status=sel.statuses(status), queue=queue, task=task,
                                   batch_id=batch, older_than=older_than,
                                   newer_than=newer_than, meta=labels, limit=limit),
         lambda found: render.jobs_table(found, limit=limit))


@jobs.command("show")
def show_job(
    job_id: JobId,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """One job: every field, and its audit trail (who did what, when, why)."""
    def fetch(app: Corral) -> tuple[Job, list[JobEvent]]:
        job = app.get_job(app.resolve_id(job_id))
        return job, app.job_events(job.id)

    read(db, as_json, fetch, lambda found: render.job_detail(*found),
         lambda found: {"job": found[0], "events": found[1]})
