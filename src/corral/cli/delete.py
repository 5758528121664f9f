"""``corral delete``: remove finished jobs and their trails, by id or by filter."""

from __future__ import annotations

from corral.cli import selection as sel
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.status import TERMINAL


def delete(
    job_ids: sel.Ids = None,
    batch: sel.BatchId = None,
    everything: sel.Everything = False,
    status: sel.Status = None,
    queue: sel.Queue = None,
    task: sel.TaskName = None,
    older_than: sel.OlderThan = None,
    yes: sel.Yes = False,
    dry_run: sel.DryRun = False,
    db: Db = DEFAULT_DB,
    as_json: AsJson = False,
) -> None:
    """Delete finished jobs with their audit trails. Active jobs are refused (exit 4):
    cancel them first.

    corral delete 0197ab12cd;  corral delete --status completed --older-than 7d
    """
    filters = sel.Filters(sel.statuses(status), queue, task, batch, older_than)
    with opened(db) as app:
        jobs, confirm = sel.select(app, job_ids, filters, everything,
                                   default_status=sorted(TERMINAL))
        question = (f"Delete {len(jobs)} job(s) ({filters.describe()})?"
                    if confirm and not yes else None)
        sel.act(app, "delete", jobs, lambda matched: app.delete_many(matched),
                ask=question, dry_run=dry_run, as_json=as_json)
