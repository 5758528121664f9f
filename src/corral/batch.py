"""Batches: jobs created together, watched and stopped together (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from corral.job import NewJob
from corral.status import JobStatus


@dataclass(frozen=True)
class NewBatch:
    """What the store inserts with a batch's jobs, in the same transaction."""

    id: str
    name: str | None = None
    on_complete: NewJob | None = None
    """Enqueued once, by the maintenance loop, when every job of the batch has finished."""


@dataclass(frozen=True)
class Batch:
    """A snapshot of one batch: counts per status, overall progress and derived state.

    Cancelled jobs are counted as cancelled, never folded into failed."""

    id: str
    name: str | None
    created_at: datetime | None
    completed_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    progress: float = 0.0
    """0..1: finished jobs count whole, running jobs by their progress ratio."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def active(self) -> int:
        return sum(n for status, n in self.counts.items() if JobStatus(status).is_active)

    @property
    def state(self) -> str:
        """``queued`` (nothing started), ``running``, or once nothing is active:
        ``completed`` (all completed), ``failed`` (any failed) or ``cancelled``."""
        count = self.counts.get
        if self.active:
            started = self.total - count("queued", 0) - count("scheduled", 0)
            return "running" if started else "queued"
        if count("failed", 0):
            return "failed"
        if count("cancelled", 0):
            return "cancelled"
        return "completed"

    @property
    def is_finished(self) -> bool:
        return self.active == 0


def batch_from_counts(id: str, name: str | None, created_at: datetime | None,
                      completed_at: datetime | None,
                      rows: list[tuple[str, int, float]]) -> Batch:
    """``rows``: (status, jobs, sum of running jobs' progress ratios) per status."""
    counts = {str(status): 0 for status in JobStatus}
    done = 0.0
    for status, jobs, ratio_sum in rows:
        counts[status] = jobs
        done += jobs if JobStatus(status).is_terminal else (ratio_sum or 0.0)
    total = sum(counts.values())
    return Batch(id=id, name=name, created_at=created_at, completed_at=completed_at,
                 counts=counts, progress=done / total if total else 1.0)


class CountsRow(Protocol):
    """A row of a ``list_batches`` query, read by column name (``sqlite3.Row``, a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


def batches_from_rows(rows: Iterable[CountsRow],
                      when: Callable[[Any], datetime | None]) -> list[Batch]:
    """Batches from a ``list_batches`` query, in its order: one row per batch and status
    (``id, name, created_at, completed_at, status, jobs, ratio_sum``), status NULL for a
    batch without jobs. ``when`` turns the backend's timestamp into a datetime."""
    grouped: dict[str, list[CountsRow]] = {}
    for row in rows:
        grouped.setdefault(row["id"], []).append(row)
    return [batch_from_counts(batch_id, group[0]["name"], when(group[0]["created_at"]),
                              when(group[0]["completed_at"]),
                              [(r["status"], r["jobs"], r["ratio_sum"])
                               for r in group if r["status"] is not None])
            for batch_id, group in grouped.items()]


def on_complete_json(job: NewJob) -> dict[str, Any]:
    """The stored form of a batch's ``on_complete`` job (a new id is made when it runs)."""
    return {"task": job.task, "args": job.args, "kwargs": job.kwargs, "queue": job.queue,
            "priority": job.priority, "max_attempts": job.max_attempts,
            "timeout": job.timeout, "meta": job.meta}


def on_complete_job(stored: dict[str, Any], new_id: str, batch_id: str) -> NewJob:
    """The job to enqueue for a finished batch; ``meta.completed_batch_id`` says which."""
    return NewJob(id=new_id, task=stored["task"], args=list(stored["args"]),
                  kwargs=dict(stored["kwargs"]), queue=stored["queue"],
                  priority=stored["priority"], max_attempts=stored["max_attempts"],
                  timeout=stored["timeout"],
                  meta={**stored["meta"], "completed_batch_id": batch_id})
