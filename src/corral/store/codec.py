"""Store rows to ``Job`` values, the same for every backend.

Backends differ only in how a row holds times (epoch seconds vs timestamptz) and JSON (text
vs decoded jsonb); each passes its two decoders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from corral.job import JSON, Job, JobError, NewJob, Progress
from corral.status import JobStatus

TimeDecoder = Callable[[Any], datetime | None]
JsonDecoder = Callable[[Any], JSON]


def job_from_row(row: Any, time: TimeDecoder, json_value: JsonDecoder) -> Job:
    """``row`` is anything indexable by column name (``sqlite3.Row``, a dict)."""
    error = json_value(row["error"]) if row["error"] is not None else None
    return Job(
        id=row["id"], task=row["task"], status=JobStatus(row["status"]),
        args=json_value(row["args"]), kwargs=json_value(row["kwargs"]), queue=row["queue"],
        priority=row["priority"], phase=row["phase"],
        progress=Progress(row["progress_current"], row["progress_total"],
                          row["progress_message"]),
        attempt=row["attempt"], max_attempts=row["max_attempts"],
        attempt_offset=row["attempt_offset"], run_at=time(row["run_at"]),
        created_at=time(row["created_at"]), started_at=time(row["started_at"]),
        finished_at=time(row["finished_at"]), heartbeat_at=time(row["heartbeat_at"]),
        worker_id=row["worker_id"], timeout=row["timeout"],
        cancel_requested_at=time(row["cancel_requested_at"]),
        cancel_reason=row["cancel_reason"], cancelled_by=row["cancelled_by"],
        error=JobError(**error) if error else None,
        result=json_value(row["result"]) if row["result"] is not None else None,
        batch_id=row["batch_id"], limit_key=row["limit_key"], key_limit=row["key_limit"],
        unique_key=row["unique_key"],
        meta=json_value(row["meta"]), stalled_at=time(row["stalled_at"]),
        unresponsive_at=time(row["unresponsive_at"]),
    )


def job_from_new(job: NewJob, status: str, run_at: datetime | None,
                 created_at: datetime | None) -> Job:
    """The Job an enqueue returns, from what was sent and what the insert decided."""
    return Job(
        id=job.id, task=job.task, status=JobStatus(status), args=list(job.args),
        kwargs=dict(job.kwargs), queue=job.queue, priority=job.priority,
        max_attempts=job.max_attempts, run_at=run_at, created_at=created_at,
        timeout=job.timeout, batch_id=job.batch_id, limit_key=job.limit_key,
        key_limit=job.key_limit, unique_key=job.unique_key, meta=dict(job.meta),
    )
