"""The Store protocol: the one contract every backend meets.

App, worker, HTTP and CLI talk to a ``Store``, never to a connection. Each method's
docstring says which states it moves jobs between and what happens when two callers race;
every move is one guarded statement (``... WHERE id IN (...) AND status IN (...)``), so of
two racing callers exactly one wins and the other sees the row unchanged. Every transition
writes a ``job_events`` row in the same transaction.

The store is synchronous (sqlite3 and psycopg's pool are); async edges reach it through a
thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from corral import errors, ids
from corral.batch import Batch, NewBatch
from corral.job import JSON, Job, JobEvent, NewJob
from corral.outcome import Outcome
from corral.status import JobStatus
from corral.store.changes import ChangeFeed


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a listing or bulk operation covers; ``None`` means any."""

    statuses: tuple[JobStatus, ...] | None = None
    queue: str | None = None
    task: str | None = None
    batch_id: str | None = None
    ids: tuple[str, ...] | None = None
    limit_key: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    before_id: str | None = None
    """Only jobs older than this id (ids sort by creation): the cursor of a listing."""
    id_prefix: str | None = None
    """Only jobs whose id starts with this (hyphens optional): how the CLI resolves a
    short id. A range on the primary key (``ids.prefix_bounds``), never a scan."""
    meta: dict[str, JSON] | None = None
    """Only jobs whose meta has each of these top-level keys with an equal value (numbers
    by value: 5 matches 5.0): the caller's own labels (``{"crawl_job_id": 5}``). Values
    are scalars (string, number, bool, null)."""

    def id_bounds(self) -> tuple[str | None, str | None]:
        """``(low, high)`` of ``id_prefix`` for ``id BETWEEN low AND high``; Nones without."""
        return (None, None) if self.id_prefix is None else ids.prefix_bounds(self.id_prefix)

    def meta_json(self) -> str | None:
        """``meta`` as the JSON text both stores match labels against; None without."""
        if self.meta is None:
            return None
        for key, value in self.meta.items():
            if isinstance(value, dict | list):
                raise errors.InvalidArguments(
                    f"meta label {key!r}: match a string, number, bool or null, not {value!r}")
        try:
            return json.dumps(self.meta, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise errors.InvalidArguments(f"meta labels must be plain JSON: {exc}") from exc


Selection = Sequence[str] | JobFilter
"""The jobs a bulk request covers: their ids, or a filter the store runs in SQL inside
the request's own transaction."""


@dataclass(frozen=True)
class StatusChange:
    """What a request (cancel, restart) did to one job: unchanged when it could not apply.
    ``job`` is the row as the request's guarded statement wrote it (None when unchanged),
    so a caller shows what the request did, not a later read a worker may have moved on."""

    job_id: str
    from_status: JobStatus
    to_status: JobStatus
    worker_id: str | None = None
    job: Job | None = field(default=None, compare=False)

    @property
    def changed(self) -> bool:
        return self.from_status != self.to_status


@dataclass(frozen=True)
class QueueInfo:
    """A queue's rules and depth. ``concurrency`` None: no global limit."""

    name: str
    concurrency: int | None
    paused: bool
    queued: int = 0
    scheduled: int = 0
    running: int = 0


@dataclass(frozen=True)
class Deletion:
    """What a delete did to one job: active jobs are refused (``deleted`` False)."""

    job_id: str
    status: JobStatus
    deleted: bool


@dataclass(frozen=True)
class FinishResult:
    """Whether an outcome was recorded, and the job's status after the attempt."""

    job_id: str
    recorded: bool
    status: JobStatus | None


@dataclass(frozen=True)
class ProgressUpdate:
    """The latest progress and phase of one running job (fenced like an outcome)."""

    job_id: str
    worker_id: str
    attempt: int
    phase: str | None
    current: float
    total: float | None
    message: str | None


@dataclass(frozen=True)
class HeldJob:
    """A job a worker holds, as the store sees it at heartbeat time."""

    job_id: str
    status: JobStatus
    attempt: int


@dataclass(frozen=True)
class Notification:
    """One row of the notifications outbox (SQLite) / one NOTIFY payload (PostgreSQL).

    ``channel`` is ``"jobs"`` (work is available on ``queue``) or ``"cancel"`` (``job_ids``
    held by ``worker_id`` should stop; ``force`` when they are already ``cancelled``).
    """

    id: int
    channel: str
    queue: str | None = None
    worker_id: str | None = None
    job_ids: tuple[str, ...] = ()
    force: bool = False


@dataclass(frozen=True)
class WorkerInfo:
    """How a worker registers itself; ``doorbell`` is its local wake-up address."""

    id: str
    host: str
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    version: str
    doorbell: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkerRecord(WorkerInfo):
    """A row of the worker registry: what the worker registered, and how it is doing."""

    started_at: datetime
    last_seen: datetime
    state: str


@dataclass(frozen=True)
class DeadWorkers:
    """Who a reaper pass found dead, and when to look again for who it may find next."""

    ids: tuple[str, ...] = ()
    confirm_in: float | None = None
    """Seconds until a liveness lock seen free, not yet long enough, would prove its worker
    dead (PostgreSQL: seen free twice ``LOCK_CONFIRM`` apart): the reaper looks again then
    rather than at its next regular pass, up to an interval later."""


@dataclass(frozen=True)
class ReapReport:
    """What one reaper pass did."""

    dead_workers: tuple[str, ...] = ()
    requeued: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    confirm_in: float | None = None  # DeadWorkers.confirm_in

    @property
    def recovered(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.cancelled)


class Liveness(Protocol):
    """A worker's liveness lock: held while the process lives, freed by the system when it
    dies (an OS file lock on SQLite, a session advisory lock on PostgreSQL, which the lock
    takes back by itself when its connection drops)."""

    fence_after: float
    """The worker stops its own jobs when the lock has gone unproven this long: a reaper
    may call it dead soon after (``math.inf`` for a lock that cannot be lost)."""

    def unconfirmed_for(self, now: float) -> float:
        """Seconds (``time.monotonic()`` based) since the lock was last known held."""

    def release(self) -> None:
        """Give the lock up (clean stop)."""


@dataclass(frozen=True)
class NewEvent:
    """An audit-trail note that is not a status change (phase entered, task log line)."""

    job_id: str
    kind: str
    actor: str | None = None
    reason: str | None = None
    data: dict[str, JSON] = field(default_factory=dict)


class Listener(Protocol):
    """How a worker hears of new work and cancels without waiting for its next poll."""

    @property
    def address(self) -> str | None:
        """Where writers reach this listener (recorded as the worker's ``doorbell``)."""

    def wait(self, timeout: float | None = None) -> list[Notification]:
        """Block up to ``timeout`` (or the backend's poll interval) for notifications."""

    def lend(self) -> AbstractContextManager[None] | None:
        """A block in which the calling thread's store calls run on the listener's own
        connection, or None where it has none to lend (SQLite; PostgreSQL while
        reconnecting). On PostgreSQL its backend has just delivered the notification: a
        claim there is faster than on a pooled connection that has been idle."""

    def close(self) -> None:
        """Stop listening."""


class KeptConnection(Protocol):
    """A connection that one writer keeps between its writes (``Store.keep_connection``)."""

    def lend(self) -> AbstractContextManager[None]:
        """A block in which the calling thread's store calls run on the kept connection
        (taken on first use, replaced once broken), where the store keeps one."""

    def release(self) -> None:
        """Give the connection back; later blocks run on the store's usual connections."""


class Store(Protocol):
    """Persistence of jobs, their trail, workers and notifications."""

    url: str
    single_writer: bool
    """One write at a time for the whole database (SQLite): a worker gains nothing by
    overlapping its claims with its outcome writes, they would only queue on the lock."""

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version. Safe to run concurrently."""

    def close(self) -> None:
        """Release connections held by this store object."""

    # -- jobs ---------------------------------------------------------------------------

    def enqueue_jobs(self, jobs: Iterable[NewJob], *, actor: str | None = None,
                     batch: NewBatch | None = None) -> list[Job]:
        """Insert all ``jobs`` in one transaction (all or none): ``-> queued``, or
        ``-> scheduled`` when ``run_at`` is in the future. Wakes workers on their queues.
        With ``batch``, the batch row is inserted in the same transaction. ``jobs`` is
        drawn as the write goes (a generator's error fails the call, which then writes
        nothing), and each job is drawn once, however often the write is retried.

        A job whose ``unique_key`` an active job already holds is not inserted: that job is
        returned in its place (atomic under concurrent enqueuers: a partial unique index).

        Idempotent under retries: a job whose id is already stored (an earlier call whose
        commit went unacknowledged, retried) is returned as stored, with no second trail
        row or wake-up; a batch whose id is stored is kept. An id held by a job of another
        task is a ``StoreError``, never a driver's duplicate-key error."""

    def claim_jobs(self, worker_id: str, queues: Sequence[str], limit: int) -> list[Job]:
        """Move up to ``limit`` due jobs ``queued -> running`` for ``worker_id``, highest
        priority then oldest first, ``attempt + 1``; due ``scheduled`` jobs are promoted to
        ``queued`` first. One statement: two workers racing never claim the same job."""

    def finish_jobs(self, outcomes: Sequence[Outcome]) -> list[FinishResult]:
        """Record outcomes: ``running|cancelling -> completed|failed|scheduled|cancelled``.
        Fenced by ``worker_id`` + ``attempt``: an outcome for a job that was force-cancelled,
        reaped or re-claimed meanwhile is refused (``recorded=False``), never applied."""

    def record_progress(self, updates: Sequence[ProgressUpdate]) -> list[str]:
        """Write progress and phase of running jobs (no trail row); fenced. Returns the ids
        whose update was refused: the worker no longer holds them."""

    def mark_stalled(self, job_id: str, worker_id: str, attempt: int) -> bool:
        """Flag a held job as stalled (progress still for ``stall_after``; no status change,
        a ``stalled`` note in the trail). The next progress write clears the flag."""

    def mark_unresponsive(self, job_id: str, worker_id: str, attempt: int) -> bool:
        """Flag a held job that ignores its cancel past ``cancel_grace`` (shown as
        ``cancelling (unresponsive)``); an ``unresponsive`` note in the trail."""

    def save_result(self, job_id: str, worker_id: str, attempt: int, result: JSON) -> bool:
        """Store a partial ``result`` on a job the worker holds; False if it no longer does."""

    def add_events(self, events: Sequence[NewEvent]) -> None:
        """Append notes to the audit trail (no status change)."""

    def cancel_jobs(
        self,
        ids: Selection,
        *,
        actor: str | None,
        reason: str | None,
        force: bool = False,
    ) -> list[StatusChange]:
        """Request cancellation, in one transaction: ``scheduled|queued -> cancelled``;
        ``running -> cancelling`` (or ``-> cancelled`` with ``force``, which also ends
        ``cancelling`` jobs); terminal jobs are left as they are and reported unchanged.
        Unknown ids are absent from the result, which follows the order of ``ids`` (of
        ``list_jobs`` for a filter). Notifies each affected worker once."""

    def restart_jobs(self, ids: Selection, *, actor: str | None,
                     reason: str | None) -> list[StatusChange]:
        """``failed|cancelled -> queued`` under the same ids, with a fresh attempt budget
        (``attempt`` keeps counting, so old executions stay fenced). Other jobs are reported
        unchanged; unknown ids are absent. Wakes workers on the jobs' queues."""

    def run_now(self, ids: Sequence[str], *, actor: str | None) -> list[StatusChange]:
        """``scheduled -> queued`` with ``run_at`` now, in one guarded statement: a delayed,
        cron or backoff job becomes due at once (a ``run_now`` trail row each), and the
        workers of its queue are woken as by an enqueue. Other jobs are reported
        unchanged (a job promoted or cancelled meanwhile loses the race cleanly); unknown
        ids are absent."""

    def release_jobs(self, worker_id: str, ids: Sequence[str], *, reason: str) -> list[str]:
        """``running -> queued`` for jobs ``worker_id`` holds and is giving back (shutdown);
        the attempt is not counted. Returns the ids released."""

    def reset_stuck(self, started_before: datetime, *, lease: float, actor: str,
                    reason: str | None, dry_run: bool = False) -> list[StatusChange]:
        """Jobs running since before ``started_before``: those whose worker is dead (lock
        free or silent for ``lease``) ``-> failed`` with ``WorkerLost`` at once; those on
        live workers are cancelled (``running -> cancelling``). Returns what changed.

        ``dry_run``: the same changes are returned, worked out by reads only: no job, trail
        row or worker (none is marked dead) changes, nobody is notified."""

    def get_job(self, job_id: str) -> Job | None:
        """One job, or None."""

    def jobs_matching_id(self, digits: str, *, limit: int) -> list[Job]:
        """Jobs whose id, as 32 hex digits, starts or ends with ``digits`` (6-31 lowercase
        hex digits: a short id as a person typed it), at most ``limit`` of each kind. Cheap
        at any size: a prefix is a range on the primary key, a suffix a probe of the index
        on the id's last 6 characters. ``ids.resolve`` makes one id of them."""

    def list_jobs(self, where: JobFilter, *, limit: int | None = 100) -> list[Job]:
        """Jobs matching ``where``, newest first (all of them with ``limit=None``)."""

    def set_queue(self, name: str, *, concurrency: int | None = None,
                  clear_concurrency: bool = False, paused: bool | None = None) -> None:
        """Create or change a queue's rules (None keeps what is set). ``concurrency`` is a
        global limit across every worker (1 = one job at a time); paused queues start
        nothing (running jobs go on)."""

    def job_counts(self, since: datetime) -> dict[str, int]:
        """Jobs per status, plus ``stalled`` (active with stalled_at) and
        ``finished_since`` (terminal jobs finished after ``since``: throughput)."""

    def jobs_per_queue(self) -> list[tuple[str, JobStatus, int]]:
        """(queue, status, number of jobs) for every pair that has jobs."""

    def queue_stats(self) -> list[QueueInfo]:
        """Every queue that exists: with jobs of any status, served by a live worker, or
        with rules; its rules and depth (active jobs) by status. One read, and its cost
        follows the number of queues and active jobs, not the finished ones."""

    def enqueue_tick(self, name: str, tick: datetime, job: NewJob, *, actor: str) -> bool:
        """Enqueue ``job`` for a periodic task's ``tick`` unless that tick already has its
        job (one row per name and tick); True if this call enqueued it, or if the tick's
        job is ``job`` itself (a retry of a call that committed)."""

    def get_batch(self, batch_id: str) -> Batch | None:
        """The batch with its counts per status and progress; None if unknown."""

    def list_batches(self, *, limit: int = 50, before_id: str | None = None) -> list[Batch]:
        """Up to ``limit`` batches, newest first (ids sort by creation); with
        ``before_id``, only those older than it: the cursor of a listing. Each has its
        counts per status and progress as ``get_batch`` gives them. One read statement
        for the whole page, so its counts are one snapshot however many batches."""

    def complete_batches(self, *, actor: str) -> list[str]:
        """Enqueue the ``on_complete`` job of every batch whose jobs have all finished,
        once per batch (a guarded UPDATE on the batch row); returns the new jobs' ids."""

    def delete_jobs(self, ids: Selection) -> list[Deletion]:
        """Delete finished jobs (their trail rows cascade) in one transaction. Active jobs
        are refused (``deleted=False``). Unknown ids are absent."""

    def prune_jobs(self, *, completed_before: datetime, failed_before: datetime) -> int:
        """Retention: delete completed jobs finished before ``completed_before`` and
        failed or cancelled ones finished before ``failed_before``; returns how many."""

    def job_events(self, job_id: str) -> list[JobEvent]:
        """The audit trail of one job, oldest first."""

    # -- workers and notifications -----------------------------------------------------

    def register_worker(self, worker: WorkerInfo) -> None:
        """Record a starting worker (state ``running``)."""

    def heartbeat(self, worker_id: str) -> list[HeldJob]:
        """Refresh the worker and all jobs it holds in one statement; return those jobs
        (``running`` or ``cancelling``). A job the worker thinks it runs but that is missing
        here was lost (force-cancelled or reaped): the worker must stop it."""

    def deregister_worker(self, worker_id: str) -> None:
        """Mark the worker ``stopped``."""

    def list_workers(self) -> list[WorkerRecord]:
        """Every registered worker, newest first."""

    def acquire_liveness(self, worker_id: str) -> Liveness:
        """Take the worker's liveness lock; call before ``register_worker``."""

    def reap(self, *, lease: float, actor: str) -> ReapReport:
        """Recover the jobs of dead workers. A ``running`` worker is dead when its liveness
        lock is free or it has not heartbeated for ``lease`` seconds: it becomes ``dead``
        (of racing reapers exactly one wins). Then, for every worker not ``running``:
        its ``running`` jobs go ``-> queued`` (attempts left, event ``worker_lost``) or
        ``-> failed`` with ``WorkerLost``; its ``cancelling`` jobs ``-> cancelled``. It
        only reaps: old worker rows are the pruner's (``prune_workers``). Idempotent; safe
        to run anywhere, any number at once."""

    def prune_workers(self, *, gone_for: float) -> int:
        """Delete the rows of workers ``dead`` or ``stopped`` whose last heartbeat is more
        than ``gone_for`` seconds old (their jobs were recovered long ago); returns how
        many. Never touches a ``running`` worker, so racing pruners are harmless."""

    def prune_notifications(self, older_than: datetime) -> int:
        """Forget wake-up bookkeeping older than ``older_than`` (SQLite's outbox rows) and
        change feeds whose server died; return how many outbox rows went."""

    def open_listener(self) -> Listener:
        """A listener for one worker (doorbell + outbox on SQLite, LISTEN on PostgreSQL)."""

    def keep_connection(self) -> KeptConnection:
        """A connection for a single writer (a worker's claimer, its recorder) to keep
        between writes: on PostgreSQL a pooled one, kept out of the pool's rotation (each
        checkout has its cost); on SQLite each thread has its own already, so none."""

    def open_change_feed(self) -> ChangeFeed:
        """A feed of the ids of changed jobs, for a server pushing changes to watchers
        (a change log read by id on SQLite, NOTIFY on PostgreSQL). While a feed is open,
        every write logs its changes; close it when done."""
