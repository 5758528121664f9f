"""``corral run-now``: a scheduled job (delay, cron, retry backoff) runs at once."""

from __future__ import annotations

from corral import ids
from corral.cli import render
from corral.cli.session import DEFAULT_DB, AsJson, Db, JobId, opened


def run_now(
    job_id: JobId,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Make a scheduled job due now: the next free worker on its queue starts it.

    A job that is not scheduled (queued, running, finished) is refused (exit 4).
    Example: corral run-now 3d29f6396dbb
    """
    with opened(db) as app:
        job = app.run_now(app.resolve_id(job_id))
    if as_json:
        render.json(job)
        return
    render.info(f"{ids.short(job.id)} ({job.task} on {job.queue}) is due now: {job.status}")
