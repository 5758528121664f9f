"""What a job is, as the store returns it: frozen values, no behaviour that touches I/O."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any

from corral.status import JobStatus

JSON = Any
"""A value that survives ``json.dumps`` and ``json.loads`` unchanged."""


@dataclass(frozen=True)
class Progress:
    """How far a running job says it is; ``ratio`` is derived, never stored."""

    current: float = 0.0
    total: float | None = None
    message: str | None = None

    @property
    def ratio(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.current / self.total))


NO_PROGRESS = Progress()  # frozen: one shared value serves every job without progress


@dataclass(frozen=True)
class JobError:
    """The last failure of a job."""

    type: str
    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class Job:
    """A snapshot of one job row. Fields follow DESIGN §1."""

    id: str
    task: str
    status: JobStatus
    args: list[JSON] = field(default_factory=list)
    kwargs: dict[str, JSON] = field(default_factory=dict)
    queue: str = "default"
    priority: int = 0
    phase: str | None = None
    progress: Progress = NO_PROGRESS
    attempt: int = 0
    max_attempts: int = 1
    attempt_offset: int = 0
    """Attempts not counted against ``max_attempts`` (spent before a restart, or handed
    back at a worker's shutdown); ``attempt`` itself only grows, so it fences executions."""
    run_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker_id: str | None = None
    timeout: float | None = None
    cancel_requested_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    error: JobError | None = None
    result: JSON = None
    batch_id: str | None = None
    limit_key: str | None = None
    key_limit: int | None = None
    """How many jobs with this ``limit_key`` may run at once (``None``: no limit)."""
    unique_key: str | None = None
    meta: dict[str, JSON] = field(default_factory=dict)
    stalled_at: datetime | None = None
    """Set while a running job's progress has not moved for its task's ``stall_after``."""
    unresponsive_at: datetime | None = None
    """Set when a thread-run job did not stop within ``cancel_grace`` of its cancel."""

    @property
    def display_status(self) -> str:
        """The status as people should read it: ``cancelling (unresponsive)``,
        ``running (stalled)``."""
        if self.unresponsive_at and self.status.is_active:
            return f"{self.status} (unresponsive)"
        if self.stalled_at and self.status.is_active:
            return f"{self.status} (stalled)"
        return str(self.status)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def attempts_left(self) -> int:
        return max(self.max_attempts - (self.attempt - self.attempt_offset), 0)


_DEFAULTS = {f.name: f.default for f in fields(Job) if f.default is not MISSING}
_FACTORIES = {f.name: f.default_factory for f in fields(Job) if f.default_factory is not MISSING}


def assemble_job(values: dict[str, Any]) -> Job:
    """``Job(**values)`` at a fraction of the cost, for the store's hot paths (every row
    read, every enqueued job): the frozen dataclass's ``__init__`` sets its 33 fields one
    ``object.__setattr__`` at a time (6 us of a decoded row's ~12). The same object, for
    the store's own callers only: ``values`` must name every field without a default
    (nothing is checked, as ``Job`` checks nothing either); the rest take their defaults,
    containers fresh."""
    job = object.__new__(Job)
    state = job.__dict__
    state.update(_DEFAULTS)
    for name, factory in _FACTORIES.items():
        if name not in values:
            state[name] = factory()
    state.update(values)
    return job


@dataclass(frozen=True)
class JobEvent:
    """One row of a job's audit trail: a transition, or a note such as a phase change."""

    id: int
    job_id: str
    at: datetime
    kind: str
    actor: str | None
    reason: str | None
    from_status: JobStatus | None
    to_status: JobStatus | None
    data: dict[str, JSON] = field(default_factory=dict)


@dataclass(slots=True)
class NewJob:
    """Everything the store needs to insert a job; built by ``Task`` / ``Signature``.
    Not frozen: one is built per enqueued job, and a frozen ``__init__`` (a
    ``object.__setattr__`` per field) cost 3 us of a bulk enqueue's ~40 per job."""

    id: str
    task: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    queue: str = "default"
    priority: int = 0
    max_attempts: int = 1
    run_at: datetime | None = None
    timeout: float | None = None
    batch_id: str | None = None
    limit_key: str | None = None
    key_limit: int | None = None
    unique_key: str | None = None
    meta: dict[str, JSON] = field(default_factory=dict)
    args_json: str | None = None
    """``args`` already encoded (and so validated) by the caller, if it was."""
    kwargs_json: str | None = None
    meta_json: str | None = None
