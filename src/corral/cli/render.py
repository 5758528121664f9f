"""The only printer of the CLI: tables, messages, JSON, and errors as one readable line.

Commands decide what to show; this module decides how. Tables and messages go to stdout,
errors and spinners to stderr (so ``--json`` output stays clean to pipe).
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from corral import ids
from corral.app import worker_counts
from corral.batch import Batch
from corral.bulk import BulkResult
from corral.job import Job, JobEvent
from corral.status import JobStatus
from corral.store.base import QueueInfo, WorkerRecord

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 200  # piped: do not squeeze tables to 80 columns

STATUS_STYLE = {
    JobStatus.SCHEDULED: "cyan", JobStatus.QUEUED: "blue", JobStatus.RUNNING: "yellow",
    JobStatus.CANCELLING: "magenta", JobStatus.COMPLETED: "green", JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "bright_black",
}


def error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)


def info(message: str) -> None:
    console.print(escape(message), highlight=False)


def confirm(question: str) -> bool:
    """Ask on the terminal (stdin); anything but yes is no."""
    return typer.confirm(question, default=False, err=True)


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while a long operation runs (nothing when not a terminal)."""
    with err_console.status(message):
        yield


# -- values -------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: jobs gain ``display_status`` and ``progress.ratio``."""
    if isinstance(value, Job):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        data["display_status"] = value.display_status
        data["progress"]["ratio"] = value.progress.ratio
        return data
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, JobStatus):
        return str(value)
    return value


def json(value: Any) -> None:
    """Print ``value`` as JSON on stdout, nothing else (for ``--json``)."""
    print(jsonlib.dumps(plain(value), indent=2, ensure_ascii=False))


def status_text(job: Job) -> str:
    return f"[{STATUS_STYLE[job.status]}]{job.display_status}[/]"


def progress_text(job: Job, width: int = 10) -> str:
    ratio = job.progress.ratio
    if ratio is None:
        return f"{job.progress.current:g}" if job.progress.current else ""
    filled = round(ratio * width)
    return f"{'█' * filled}{'░' * (width - filled)} {ratio:4.0%}"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``3s``, ``5m``, ``2h``, ``4d``: how long ago (or ``in 5m`` for the future)."""
    if moment is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    text = duration(abs(seconds))
    return text if seconds >= 0 else f"in {text}"


def duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"


def _compact(value: Any) -> str:
    return jsonlib.dumps(plain(value), ensure_ascii=False, separators=(", ", ": "))


# -- jobs ---------------------------------------------------------------------------------


def jobs_table(jobs: Sequence[Job], *, limit: int | None = None) -> None:
    """Short ids (the last 12 digits: every command takes them back); on a narrow
    terminal the last columns give way (worker, then
    queue...) and the task name is shortened."""
    if not jobs:
        info("no jobs match")
        return
    now = datetime.now(UTC)
    columns = ("id", "task", "status", "progress", "phase", "age", "queue", "worker")
    rows = [(ids.short(job.id), escape(job.task), status_text(job), progress_text(job, 6),
             escape(job.phase or ""), ago(job.created_at, now), escape(job.queue),
             escape(job.worker_id or "")) for job in jobs]
    widths = [max(len(column), *(Text.from_markup(row[i]).cell_len for row in rows))
              for i, column in enumerate(columns)]
    shown = len(columns)
    while shown > 4 and sum(widths[:shown]) - max(widths[1] - 12, 0) + 2 * shown > console.width:
        shown -= 1
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column, width in zip(columns[:shown], widths, strict=False):
        table.add_column(column, no_wrap=column != "task", overflow="ellipsis",
                         min_width=12 if column == "task" else width)
    for row in rows:
        table.add_row(*row[:shown])
    console.print(table)
    more = " (the newest; --limit for more)" if limit is not None and len(jobs) >= limit else ""
    console.print(f"[dim]{len(jobs)} job{'s' if len(jobs) != 1 else ''}{more}[/]")


def job_detail(job: Job, events: Sequence[JobEvent]) -> None:
    """One job, every field that is set, then its audit trail."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    now = datetime.now(UTC)

    def row(name: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            grid.add_row(name, value if name == "status" else escape(str(value)))

    def at(moment: datetime | None) -> str | None:
        return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago(moment, now)} ago)" if moment else None

    row("id", f"{job.id} (short {ids.short(job.id)})")
    row("task", job.task)
    row("status", status_text(job))
    row("args", _compact(job.args) if job.args else None)
    row("kwargs", _compact(job.kwargs) if job.kwargs else None)
    row("queue", f"{job.queue} (priority {job.priority})")
    row("phase", job.phase)
    row("progress", " ".join(filter(None, [progress_text(job, 20), job.progress.message])))
    row("attempt", f"{job.attempt - job.attempt_offset} of {job.max_attempts}")
    for name in ("run_at", "created_at", "started_at", "heartbeat_at", "finished_at"):
        row("run at" if name == "run_at" else name.removesuffix("_at"), at(getattr(job, name)))
    row("worker", job.worker_id)
    row("timeout", duration(job.timeout) if job.timeout else None)
    for name in ("batch_id", "limit_key", "unique_key"):
        row(name.replace("_", " "), getattr(job, name))
    row("meta", _compact(job.meta) if job.meta else None)
    if job.cancel_requested_at:
        row("cancel", f"requested by {job.cancelled_by or '?'} {ago(job.cancel_requested_at)} "
                      f"ago: {job.cancel_reason or 'no reason given'}")
    if job.error:
        row("error", f"{job.error.type}: {job.error.message}")
    row("result", None if job.result is None else _compact(job.result))
    console.print(grid)
    if job.error and job.error.traceback:
        console.print(f"[dim]{escape(job.error.traceback.rstrip())}[/]")
    console.print()
    console.print(events_table(events))


def events_table(events: Sequence[JobEvent]) -> Table:
    table = Table(title="audit trail", title_justify="left", box=None, header_style="bold",
                  pad_edge=False)
    for column in ("at", "event", "by", "change", "reason", "data"):
        table.add_column(column, no_wrap=column not in ("reason", "data"))
    for event in events:
        change = (f"{event.from_status or '·'} → {event.to_status}"
                  if event.to_status and event.to_status != event.from_status else "")
        table.add_row(f"{event.at:%H:%M:%S.%f}"[:-3], escape(event.kind),
                      escape(event.actor or ""), change, escape(event.reason or ""),
                      escape(_compact(event.data)) if event.data else "")
    return table


def enqueued(job: Job) -> None:
    info(f"enqueued {ids.short(job.id)} ({job.task} on {job.queue}, {job.status}); "
         f"full id {job.id}")


# -- bulk actions -------------------------------------------------------------------------


def bulk_report(result: BulkResult, before: Sequence[Job], after: Sequence[Job]) -> None:
    """One line per job: what it was, what the operation made it (or why it was
    refused)."""
    now_status = {job.id: job for job in after}
    done = set(result.done)
    for job in before:
        if result.dry_run:
            line = f"would {result.action} ({job.display_status})"
        elif job.id in result.became:
            became = JobStatus(result.became[job.id])
            line = f"{job.display_status} → [{STATUS_STYLE[became]}]{became}[/]"
        elif job.id in now_status and job.id in done:
            line = f"{job.display_status} → {status_text(now_status[job.id])}"
        elif job.id in done:
            line = "deleted"
        elif job.id in result.refused:
            line = f"[red]refused[/]: {result.refused[job.id]}"
        else:
            line = "gone meanwhile"
        console.print(f"{ids.short(job.id)}  {escape(job.task)}  {line}", highlight=False)
    verb = {"cancel": "cancelled", "restart": "restarted", "delete": "deleted"}[result.action]
    summary = (f"{len(result.matched)} job(s) would be {verb} (dry run)" if result.dry_run
               else f"{len(result.done)} job(s) {verb}")
    if result.refused:
        summary += f", {len(result.refused)} refused"
    console.print(f"[dim]{summary}[/]")


def bulk_json(result: BulkResult, after: Sequence[Job]) -> None:
    json({"action": result.action, "dry_run": result.dry_run, "count": result.count,
          "job_ids": result.matched if result.dry_run else result.done,
          "refused": result.refused, "jobs": list(after)})


# -- queues, stats, workers ---------------------------------------------------------------


def queues_table(queues: Sequence[QueueInfo]) -> None:
    if not queues:
        info("no queues yet (a queue appears with its first job, worker or rule)")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("queue", "limit", "state", "queued", "scheduled", "running"):
        table.add_column(column, justify="right" if column not in ("queue", "state") else "left")
    for q in queues:
        table.add_row(escape(q.name), str(q.concurrency) if q.concurrency else "none",
                      "[red]paused[/]" if q.paused else "[green]active[/]",
                      str(q.queued), str(q.scheduled), str(q.running))
    console.print(table)


def stats(data: dict[str, Any]) -> None:
    counts = data["counts"]
    line = "  ".join(f"[{STATUS_STYLE[JobStatus(s)]}]{s}[/] {n}" for s, n in counts.items())
    console.print(line, highlight=False)
    workers = data["workers"]
    console.print(f"stalled {data['stalled']}  finished in the last minute "
                  f"{data['finished_last_minute']}  workers alive {workers['alive']}, "
                  f"stopped {workers['stopped']}, dead {workers['dead']}", highlight=False)
    queues_table([QueueInfo(name, q["concurrency"], q["paused"], q["queued"], q["scheduled"],
                            q["running"]) for name, q in data["queues"].items()])


def workers_table(workers: Sequence[tuple[WorkerRecord, list[Job]]]) -> None:
    if not workers:
        info("no workers registered")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("worker", "state", "host", "pid", "queues", "slots", "last seen", "jobs"):
        table.add_column(column)
    now = datetime.now(UTC)
    for worker, jobs in workers:
        style = WORKER_STYLE.get(worker.state, "red")
        held = Group(*(f"{ids.short(job.id)} {escape(job.task)} {status_text(job)}"
                       for job in jobs))
        table.add_row(escape(worker.id), f"[{style}]{worker.state}[/]", escape(worker.host),
                      str(worker.pid), escape(",".join(worker.queues)),
                      f"{len(jobs)}/{worker.concurrency}", f"{ago(worker.last_seen, now)} ago",
                      held)
    console.print(table)
    counts = worker_counts(worker.state for worker, _ in workers)
    console.print(f"alive {counts['alive']}, stopped {counts['stopped']}, "
                  f"dead {counts['dead']}", highlight=False)


WORKER_STYLE = {"running": "green", "stopped": "dim", "dead": "red"}
"""A worker that stopped cleanly is not an alarm; a dead one is."""


# -- watching -----------------------------------------------------------------------------


class Board:
    """What ``corral watch`` shows: on a terminal a live progress bar per job (with its
    status, phase and message); elsewhere (a pipe, a log) one line per status or phase
    change, so the output stays readable."""

    def __init__(self) -> None:
        self.live = console.is_terminal
        self._bars = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[status]}"), TextColumn("[bold]{task.fields[phase]}"),
            TextColumn("[dim]{task.fields[message]}"), console=console, transient=False,
            refresh_per_second=10)
        self._rows: dict[str, TaskID] = {}
        self._seen: dict[str, tuple[str, str | None]] = {}

    def __enter__(self) -> Board:
        if self.live:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self._bars.stop()

    def show(self, jobs: Sequence[Job], batch: Batch | None = None) -> None:
        if batch is not None:
            self._row(f"batch {batch.id}", f"batch {batch.name or batch.id[:13]}",
                      batch.progress, 1.0, batch.state,
                      ", ".join(f"{n} {s}" for s, n in batch.counts.items() if n), "")
        for job in jobs:
            ratio = job.progress.ratio
            completed = 1.0 if job.status == JobStatus.COMPLETED else (ratio or 0.0)
            self._row(job.id, f"{ids.short(job.id)} {escape(job.task)}", completed,
                      None if ratio is None and job.status.is_active else 1.0,
                      status_text(job), escape(job.phase or ""),
                      escape(job.progress.message or ""))
            self._line(job)

    def _row(self, key: str, label: str, completed: float, total: float | None,
             status: str, phase: str, message: str) -> None:
        if not self.live:
            return
        if key not in self._rows:
            self._rows[key] = self._bars.add_task(label, total=total, status="", phase="",
                                                  message="")
        self._bars.update(self._rows[key], completed=completed, total=total, status=status,
                          phase=phase, message=message)

    def _line(self, job: Job) -> None:
        state = (job.display_status, job.phase)
        if self.live or self._seen.get(job.id) == state:
            return
        self._seen[job.id] = state
        progress = job.progress
        amount = (f"{progress.current:g}/{progress.total:g}" if progress.total
                  else f"{progress.current:g}" if progress.current else "")
        parts = [f"{datetime.now(UTC):%H:%M:%S}", ids.short(job.id), job.task, status_text(job),
                 escape(job.phase or ""), amount, escape(progress.message or "")]
        console.print("  ".join(p for p in parts if p), highlight=False)


def outcome(job: Job) -> None:
    """The last line of watching a job that completed."""
    took = (duration((job.finished_at - job.started_at).total_seconds())
            if job.finished_at and job.started_at else "?")
    result = "" if job.result is None else f": {_compact(job.result)}"
    console.print(f"{ids.short(job.id)} {status_text(job)} in {took}{escape(result)}",
                  highlight=False)
