"""Which jobs ``cancel``, ``restart`` and ``delete`` act on, and how they report it.

Jobs are named by ids (unique prefixes), by a batch, or by a filter (``--status``,
``--queue``, ``--task``, ``--older-than``, ``--newer-than``, ``--meta KEY=VALUE``, or
``--all``). A filter is shown and confirmed
first (``--yes`` skips the question), then exactly the jobs that were shown are handed to
the set-based operation, which re-checks each one's status: a job that moved meanwhile is
reported as refused, never forced.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from corral import bulk, errors
from corral.app import Corral
from corral.bulk import BulkResult
from corral.cli import render
from corral.cli.session import DEFAULT_DB, AsJson, Db, opened
from corral.job import JSON, Job
from corral.status import JobStatus

Ids = Annotated[list[str] | None, typer.Argument(
    help="Job ids: full, short (last 12 digits), or unique prefixes or suffixes "
         "(6+ digits).", show_default=False)]
Status = Annotated[list[str] | None, typer.Option(
    "--status", "-s", help="Only jobs in this status (repeat, or comma-separate).")]
Queue = Annotated[str | None, typer.Option("--queue", "-q", help="Only jobs of this queue.")]
TaskName = Annotated[str | None, typer.Option("--task", help="Only jobs of this task.")]
BatchId = Annotated[str | None, typer.Option("--batch", "-b", help="Only jobs of this batch.")]
OlderThan = Annotated[str | None, typer.Option(
    "--older-than", help="Only jobs created longer ago than this (90s, 30m, 2h, 7d).")]
NewerThan = Annotated[str | None, typer.Option(
    "--newer-than", help="Only jobs created less long ago than this (90s, 30m, 2h, 7d).")]
Meta = Annotated[list[str] | None, typer.Option(
    "--meta", metavar="KEY=VALUE",
    help="Only jobs whose meta has KEY equal to VALUE (repeat for more). A VALUE that "
         "parses as JSON matches that value: 5 the number, '\"5\"' the string.")]
Everything = Annotated[bool, typer.Option(
    "--all", help="Every job matching the filters (all of them without filters).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; do nothing.")]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit trail).")]

WHY_REFUSED = {
    "cancel": "already finished",
    "restart": "only failed or cancelled jobs restart",
    "delete": "still active: cancel it first",
}


class Refused(errors.CorralError):
    """Some of the jobs could not be acted on (their status did not allow it)."""

    def __init__(self, action: str, refused: dict[str, str]) -> None:
        named = ", ".join(f"{job_id} is {status}" for job_id, status in list(refused.items())[:3])
        more = ", ..." if len(refused) > 3 else ""
        super().__init__(f"{action} refused for {len(refused)} job(s) "
                         f"({WHY_REFUSED[action]}): {named}{more}", refused=refused)


def statuses(values: Sequence[str] | None) -> list[str] | None:
    """``--status a --status b,c`` -> ``[a, b, c]``; unknown names are a usage error."""
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    known = {str(s) for s in JobStatus}
    for name in names:
        if name not in known:
            raise errors.ConfigError(
                f"unknown status {name!r} (one of: {', '.join(s for s in JobStatus)})")
    return names


def labels(values: Sequence[str] | None) -> dict[str, JSON] | None:
    """``--meta k=v --meta k2=v2`` -> ``{k: v, k2: v2}`` (values as JSON when they parse);
    no ``=``, an empty key or a key given twice is a usage error."""
    if not values:
        return None
    return bulk.meta_labels(bulk.meta_option(value) for value in values)


@dataclass(frozen=True)
class Filters:
    """The filter options of a command, as given."""

    status: list[str] | None = None
    queue: str | None = None
    task: str | None = None
    batch_id: str | None = None
    older_than: str | None = None
    newer_than: str | None = None
    meta: list[str] | None = None

    def given(self) -> bool:
        return self != Filters()

    def describe(self) -> str:
        parts = [f"{name.replace('_', ' ')} {value if isinstance(value, str) else ','.join(value)}"
                 for name, value in vars(self).items() if value]
        return ", ".join(parts) or "no filter"

    def jobs(self, app: Corral, default_status: Sequence[str]) -> list[Job]:
        if self.batch_id is not None:
            app.get_batch(self.batch_id)  # BatchNotFound rather than "nothing matches"
        return app.list_jobs(status=self.status or list(default_status), queue=self.queue,
                             task=self.task, batch_id=self.batch_id,
                             older_than=self.older_than, newer_than=self.newer_than,
                             meta=labels(self.meta), limit=None)


def check_selection(prefixes: Sequence[str] | None, filters: Filters, everything: bool
                    ) -> None:
    """Usage errors, told before the store is touched."""
    if prefixes and (filters.given() or everything):
        raise errors.ConfigError("give job ids or a filter, not both")
    if not (prefixes or filters.given() or everything):
        raise errors.ConfigError(
            "give job ids, a filter (--status, --queue, --task, --batch, --older-than, "
            "--newer-than, --meta) or --all")


def select(app: Corral, prefixes: Sequence[str] | None, filters: Filters, everything: bool,
           default_status: Sequence[str]) -> tuple[list[Job], bool]:
    """The jobs named, and whether to confirm first (for ``--all`` and filters: the user
    has not seen the list; ids and a lone ``--batch`` name their targets)."""
    if prefixes:
        # every id resolved before anything is done; a job named twice is acted on once
        named = list(dict.fromkeys(app.resolve_id(prefix) for prefix in prefixes))
        return app.list_jobs(ids=named, limit=None), False
    lone_batch = filters == Filters(batch_id=filters.batch_id) and not everything
    return filters.jobs(app, default_status), not lone_batch


def act(app: Corral, action: str, jobs: list[Job], operation: Callable[[list[str]], BulkResult],
        *, ask: str | None, dry_run: bool, as_json: bool) -> None:
    """Confirm (when ``ask`` is a question), run ``operation`` on the jobs' ids, print a
    line per job; raise ``Refused`` (exit 4) if any job could not be acted on."""
    if not jobs and not as_json:
        render.info(f"no job to {action}")
        return
    job_ids = [job.id for job in jobs]
    if dry_run:
        result = BulkResult(action, True, job_ids)
    else:
        if ask is not None and jobs and not render.confirm(ask):
            raise typer.Abort()
        with render.working(f"{action}: {len(jobs)} job(s)"):
            result = operation(job_ids)
    after = (app.list_jobs(ids=result.done, limit=None)
             if result.done else [])
    if as_json:
        render.bulk_json(result, after)
    else:
        render.bulk_report(result, jobs, after)
    if result.refused:
        raise Refused(action, result.refused)


def option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)


SELECTING = [option("job_ids", Ids), option("batch", BatchId),
             option("everything", Everything, False), option("status", Status),
             option("queue", Queue), option("task", TaskName), option("older_than", OlderThan),
             option("newer_than", NewerThan), option("meta", Meta)]
RUNNING = [option("yes", Yes, False), option("dry_run", DryRun, False),
           option("db", Db, DEFAULT_DB), option("as_json", AsJson, False)]

Operation = Callable[..., BulkResult]


def command(action: str, default_status: Sequence[str], *extra: inspect.Parameter
            ) -> Callable[[Operation], Callable[..., None]]:
    """A ``cancel`` / ``restart`` / ``delete`` command from ``operation(app, job_ids,
    **extra options) -> BulkResult``. The options that select jobs, confirm and print are
    declared once (``SELECTING``, ``RUNNING``) and spliced into each command's signature
    around its own ``extra`` options; Typer reads the signature."""

    def decorate(operation: Operation) -> Callable[..., None]:
        def run(job_ids: list[str] | None, batch: str | None, everything: bool,
                status: list[str] | None, queue: str | None, task: str | None,
                older_than: str | None, newer_than: str | None, meta: list[str] | None,
                yes: bool, dry_run: bool, db: str, as_json: bool, **extras: Any) -> None:
            filters = Filters(statuses(status), queue, task, batch, older_than, newer_than,
                              meta)
            labels(meta)  # a malformed --meta is a usage error before the store is opened
            check_selection(job_ids, filters, everything)
            with opened(db) as app:
                jobs, confirm = select(app, job_ids, filters, everything, default_status)
                question = (f"{action.capitalize()} {len(jobs)} job(s) ({filters.describe()})?"
                            if confirm and not yes else None)
                act(app, action, jobs, lambda matched: operation(app, matched, **extras),
                    ask=question, dry_run=dry_run, as_json=as_json)

        run.__name__ = operation.__name__
        run.__doc__ = operation.__doc__
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [*SELECTING, *extra, *RUNNING], return_annotation=None)
        return run

    return decorate
