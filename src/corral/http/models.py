"""Request and response bodies of the HTTP API (Pydantic): what OpenAPI publishes."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from corral.batch import Batch
from corral.bulk import BulkResult
from corral.job import Job, JobEvent
from corral.store.base import QueueInfo, WorkerRecord

JSONValue = Any


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnqueueRequest(Strict):
    task: str = Field(min_length=1, max_length=200)
    args: list[JSONValue] = Field(default_factory=list)
    kwargs: dict[str, JSONValue] = Field(default_factory=dict)
    queue: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    run_at: datetime | None = None
    delay: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    meta: dict[str, JSONValue] | None = None
    unique_key: str | None = Field(default=None, min_length=1, max_length=500)
    limit_key: str | None = Field(default=None, min_length=1, max_length=500)
    key_limit: int | None = Field(default=None, ge=1, le=1_000_000)


class BatchRequest(Strict):
    jobs: list[EnqueueRequest] = Field(min_length=1, max_length=10_000)
    name: str | None = Field(default=None, max_length=200)
    on_complete: EnqueueRequest | None = None


class CancelRequest(Strict):
    reason: str | None = Field(default=None, max_length=1000)
    force: bool = False


class RestartRequest(Strict):
    reason: str | None = Field(default=None, max_length=1000)


class Filter(Strict):
    """Which jobs a bulk operation covers: ids and/or a filter (an empty one is refused)."""

    ids: list[str] | None = Field(default=None, max_length=100_000)
    status: str | list[str] | None = Field(
        default=None, description='one status or a list: "running" or ["queued", "running"]')
    queue: str | None = None
    task: str | None = None
    batch_id: str | None = None
    limit_key: str | None = None
    older_than: str | None = Field(default=None, description="a duration: 30, 10m, 2h, 7d")
    newer_than: str | None = Field(default=None, description="a duration: 30, 10m, 2h, 7d")
    meta: dict[str, JSONValue] | None = Field(
        default=None, description='meta labels, top-level keys equal to these scalar values: '
                                  '{"crawl_job_id": 5}')
    dry_run: bool = False


class BulkCancelRequest(Filter):
    reason: str | None = Field(default=None, max_length=1000)
    force: bool = False


class BulkRestartRequest(Filter):
    reason: str | None = Field(default=None, max_length=1000)


class QueuePatch(Strict):
    concurrency: int | None = Field(default=None, ge=1, le=1_000_000)
    unlimited: bool = Field(default=False, description="remove the concurrency limit")
    paused: bool | None = None


class ProgressOut(BaseModel):
    current: float
    total: float | None
    message: str | None
    ratio: float | None


class ErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None = None


class JobOut(BaseModel):
    id: str
    task: str
    status: str
    display_status: str
    args: list[JSONValue]
    kwargs: dict[str, JSONValue]
    queue: str
    priority: int
    phase: str | None
    progress: ProgressOut
    attempt: int
    max_attempts: int
    run_at: datetime | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    worker_id: str | None
    timeout: float | None
    cancel_requested_at: datetime | None
    cancel_reason: str | None
    cancelled_by: str | None
    error: ErrorOut | None
    result: JSONValue
    batch_id: str | None
    limit_key: str | None
    key_limit: int | None
    unique_key: str | None
    meta: dict[str, JSONValue]
    stalled_at: datetime | None
    unresponsive_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        fields = {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}
        fields["progress"] = ProgressOut(current=job.progress.current, total=job.progress.total,
                                         message=job.progress.message,
                                         ratio=job.progress.ratio)
        fields["error"] = (ErrorOut(**dataclasses.asdict(job.error)) if job.error else None)
        fields["status"] = str(job.status)
        fields.pop("attempt_offset", None)
        return cls(display_status=job.display_status, **fields)


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str | None
    reason: str | None
    from_status: str | None
    to_status: str | None
    data: dict[str, JSONValue]

    @classmethod
    def of(cls, event: JobEvent) -> EventOut:
        return cls(id=event.id, at=event.at, kind=event.kind, actor=event.actor,
                   reason=event.reason,
                   from_status=str(event.from_status) if event.from_status else None,
                   to_status=str(event.to_status) if event.to_status else None,
                   data=event.data)


class BulkOut(BaseModel):
    action: str
    dry_run: bool
    count: int
    job_ids: list[str] = Field(description="matched (dry run) or changed jobs")
    refused: dict[str, str] = Field(description="job id -> the status that refused it")

    @classmethod
    def of(cls, result: BulkResult) -> BulkOut:
        return cls(action=result.action, dry_run=result.dry_run, count=result.count,
                   job_ids=result.matched if result.dry_run else result.done,
                   refused=result.refused)


class ResetOut(BaseModel):
    reset_count: int = Field(description="jobs reset (with dry_run: that would be)")
    job_ids: list[str]
    dry_run: bool = False
    failed: list[str] | None = Field(
        default=None, description="dry run: jobs that would fail (WorkerLost: worker dead)")
    cancelled: list[str] | None = Field(
        default=None, description="dry run: jobs that would be cancelled (live worker)")


class BatchOut(BaseModel):
    id: str
    name: str | None
    created_at: datetime | None
    completed_at: datetime | None
    counts: dict[str, int]
    total: int
    progress: float
    state: str

    @classmethod
    def of(cls, batch: Batch) -> BatchOut:
        return cls(id=batch.id, name=batch.name, created_at=batch.created_at,
                   completed_at=batch.completed_at, counts=batch.counts, total=batch.total,
                   progress=batch.progress, state=batch.state)


class BatchPage(BaseModel):
    batches: list[BatchOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


class BatchCreated(BaseModel):
    batch: BatchOut
    job_ids: list[str]


class BatchCancelOut(BaseModel):
    status: str
    batch_id: str
    jobs_cancelled: int
    job_ids: list[str]


class QueueOut(BaseModel):
    name: str
    concurrency: int | None
    paused: bool
    queued: int
    scheduled: int
    running: int

    @classmethod
    def of(cls, info: QueueInfo) -> QueueOut:
        return cls(**dataclasses.asdict(info))


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    version: str
    started_at: datetime
    last_seen: datetime
    state: str
    jobs: list[JobOut]

    @classmethod
    def of(cls, worker: WorkerRecord, jobs: list[Job]) -> WorkerOut:
        return cls(id=worker.id, host=worker.host, pid=worker.pid, queues=list(worker.queues),
                   concurrency=worker.concurrency, version=worker.version,
                   started_at=worker.started_at, last_seen=worker.last_seen,
                   state=worker.state, jobs=[JobOut.of(job) for job in jobs])


class Stats(BaseModel):
    counts: dict[str, int]
    stalled: int
    finished_last_minute: int
    queues: dict[str, dict[str, JSONValue]]
    workers: dict[str, int]


class Health(BaseModel):
    status: str
    store: str


class Problem(BaseModel):
    """Every error: the type name, a readable message, and its context fields."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str
