"""``corral cancel``: stop jobs by id, by batch, or everything matching a filter."""

from __future__ import annotations

from typing import Annotated

import typer

from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.status import ACTIVE

Force = Annotated[bool, typer.Option(
    "--force", help="Mark running jobs cancelled at once, even if their worker is hung or "
                    "gone (a live worker drops the job when it learns).")]


def cancel(
    job_ids: sel.Ids = None,
    batch: sel.BatchId = None,
    everything: sel.Everything = False,
    status: sel.Status = None,
    queue: sel.Queue = None,
    task: sel.TaskName = None,
    older_than: sel.OlderThan = None,
    reason: sel.Reason = None,
    force: Force = False,
    yes: sel.Yes = False,
    dry_run: sel.DryRun = False,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Cancel jobs: pending ones never start, running ones stop at their next checkpoint
    (cancelling -> cancelled). Finished jobs are refused (exit 4).

    corral cancel 0197ab12cd --reason "wrong ticker";
    corral cancel --batch BATCH_ID;
    corral cancel --all --status running --queue reports
    """
    filters = sel.Filters(sel.statuses(status), queue, task, batch, older_than)
    with opened(db) as app:
        jobs, confirm = sel.select(app, job_ids, filters, everything,
                                   default_status=sorted(ACTIVE))
        question = (f"{'Force-cancel' if force else 'Cancel'} {len(jobs)} job(s) "
                    f"({filters.describe()})?") if confirm and not yes else None
        sel.act(app, "cancel", jobs,
                lambda matched: app.cancel_many(matched, reason=reason, force=force),
                ask=question, dry_run=dry_run, as_json=as_json)
