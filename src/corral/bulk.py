"""Bulk operations (cancel, retry, delete) over ids or a filter (DESIGN §6).

A filter is resolved to ids first (``dry_run`` stops there: the count and ids, nothing
changed), then the ids go to the store's set-based operation, which re-checks every job's
status inside its own transaction: a job that moved meanwhile is reported, not forced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from corral import config, errors
from corral.status import JobStatus
from corral.store import codec
from corral.store.base import JobFilter


@dataclass(frozen=True)
class BulkResult:
    """What a bulk operation matched, did, and refused (id -> the status that refused it)."""

    action: str
    dry_run: bool
    matched: list[str]
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.matched if self.dry_run else self.done)


def job_filter(
    *,
    ids: Iterable[str] | None = None,
    status: JobStatus | str | Iterable[JobStatus | str] | None = None,
    queue: str | None = None,
    task: str | None = None,
    batch_id: str | None = None,
    limit_key: str | None = None,
    older_than: str | float | timedelta | None = None,
    before_id: str | None = None,
) -> JobFilter:
    """A ``JobFilter`` from user-facing arguments; ``older_than`` is a duration (``"1h"``)
    measured from the job's creation."""
    for name, text in (("queue", queue), ("task", task), ("batch_id", batch_id),
                       ("limit_key", limit_key), ("cursor", before_id)):
        codec.check_text(text, name)
    if ids is not None:
        ids = [codec.check_text(job_id, "job id") or "" for job_id in ids]
    if isinstance(status, str):
        status = [status]
    try:
        statuses = tuple(JobStatus(s) for s in status) if status is not None else None
    except ValueError as exc:
        raise errors.ConfigError(f"unknown status: {exc}") from exc
    created_before = None
    if older_than is not None:
        seconds = config.duration_seconds(older_than, name="older_than")
        created_before = datetime.now(UTC) - timedelta(seconds=seconds)
    return JobFilter(statuses=statuses, queue=queue, task=task, batch_id=batch_id,
                     ids=tuple(ids) if ids is not None else None, limit_key=limit_key,
                     created_before=created_before, before_id=before_id)


def is_everything(where: JobFilter) -> bool:
    """True for a filter that names nothing: bulk changes refuse it (say what you mean)."""
    return where == JobFilter()
