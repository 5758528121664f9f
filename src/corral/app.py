"""The ``Corral`` facade: the task registry, and every user operation as Store calls."""

from __future__ import annotations

import functools
import gc
import getpass
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, overload

from corral import config, errors, twins
from corral.batch import Batch, NewBatch
from corral.bulk import BulkResult, StuckReset, is_everything, job_filter
from corral.handle import BatchHandle, JobHandle
from corral.ids import resolve as resolve_text
from corral.ids import uuid7
from corral.job import JSON, Job, JobEvent, NewJob
from corral.periodic import Schedule, check_cron
from corral.status import ACTIVE, JobStatus
from corral.store import Store, codec, open_store
from corral.store.base import JobFilter, QueueInfo, WorkerRecord
from corral.task import Isolation, LimitKey, OnStall, Signature, Task, TaskOptions

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def default_actor() -> str:
    """Who the audit trail names when the caller does not say: ``user@host``. Asked once
    per process: the lookup cost 14 us, 9% of a SQLite ``enqueue``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _duration(value: str | float | None, name: str) -> float | None:
    return None if value is None else config.parse_duration(value, name=name)


def _queue_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise errors.ConfigError("queue must be a non-empty string")
    return codec.check_text(name, "queue") or name


def _texts(**texts: str | None) -> None:
    """Refuse (``InvalidArguments``) what no store can hold as text (NUL, lone
    surrogates) before anything is written or looked up."""
    for name, text in texts.items():
        codec.check_text(text, name)


COLLECTOR_PAUSED_FROM = 1_000
"""Jobs in one enqueue from which the cyclic garbage collector waits for its end."""


@contextmanager
def _collector_paused(jobs: int) -> Iterator[None]:
    """Hold off the cyclic garbage collector through a bulk enqueue: its jobs, handles and
    their containers (~10 a job) all live until the call returns, so the full passes over
    the heap they trigger find nothing to free, and cost 10-20% of an ``enqueue_many`` of
    10,000 (one or two passes, 45-90 ms). Left alone when already off (the caller's choice)."""
    if jobs < COLLECTOR_PAUSED_FROM or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def worker_counts(states: Iterable[str]) -> dict[str, int]:
    """Registered workers by what became of them: ``alive`` (state ``running``),
    ``stopped`` (deregistered cleanly: Ctrl+C, SIGTERM, ``Worker.stop``) and ``dead``
    (found dead by a reaper: killed, crashed, or silent past the lease)."""
    counts = {"alive": 0, "stopped": 0, "dead": 0}
    for state in states:
        key = "alive" if state == "running" else "stopped" if state == "stopped" else "dead"
        counts[key] += 1
    return counts


class Corral:
    """One job system: settings, the registered tasks and the store they share.

    The store is opened (and migrated) on first use, so importing a module that builds an
    app touches no database.
    """

    def __init__(self, database_url: str | None = None, **settings: Any) -> None:
        self.settings = config.Settings.resolve({"database_url": database_url, **settings})
        self.tasks: dict[str, Task] = {}
        self.schedules: list[Schedule] = []
        self._store: Store | None = None
        self._store_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Corral {self.settings.database_url} tasks={len(self.tasks)}>"

    @property
    def store(self) -> Store:
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    store = open_store(self.settings.database_url)
                    store.migrate()
                    self._store = store
        return self._store

    def close(self) -> None:
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- registry ------------------------------------------------------------------------

    @overload
    def task(self, fn: F, /) -> Task: ...

    @overload
    def task(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        priority: int = 0,
        phases: Iterable[str] = (),
        timeout: str | float | None = None,
        max_attempts: int = 1,
        isolation: Isolation = "thread",
        retry_on: Iterable[type[BaseException]] = (Exception,),
        stall_after: str | float | None = None,
        on_stall: OnStall = "report",
        key_limit: int | None = None,
        limit_key: LimitKey | None = None,
        cancel_grace: str | float | None = None,
    ) -> Callable[[F], Task]: ...

    def task(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        priority: int = 0,
        phases: Iterable[str] = (),
        timeout: str | float | None = None,
        max_attempts: int = 1,
        isolation: Isolation = "thread",
        retry_on: Iterable[type[BaseException]] = (Exception,),
        stall_after: str | float | None = None,
        on_stall: OnStall = "report",
        key_limit: int | None = None,
        limit_key: LimitKey | None = None,
        cancel_grace: str | float | None = None,
    ) -> Task | Callable[[F], Task]:
        """Register a function as a task: ``@app.task`` or ``@app.task(queue=..., ...)``.

        ``timeout``: one attempt's longest run (then ``failed`` with ``JobTimeout``, retry
        rules apply). ``stall_after``: progress still this long marks the job stalled, and
        cancels it with ``on_stall="cancel"``. Durations take ``30``, ``"500ms"``, ``"10m"``.
        ``key_limit``: default per-key limit of jobs enqueued with a ``limit_key``.
        ``limit_key``: every job's key, a string or a callable of the task's arguments
        (without ``ctx``: ``limit_key=lambda ticker: ticker``), applied however the job is
        enqueued (Python, HTTP or CLI by task name); a per-call ``limit_key`` wins.
        ``cancel_grace``: this task's time to stop after a cancel before a process-isolated
        job is killed (a thread-run one flagged unresponsive); default: the worker's.
        """
        options = TaskOptions(
            queue=queue, priority=priority, phases=tuple(phases),
            timeout=_duration(timeout, "timeout"), max_attempts=max_attempts,
            isolation=isolation, retry_on=tuple(retry_on),
            stall_after=_duration(stall_after, "stall_after"), on_stall=on_stall,
            key_limit=key_limit, limit_key=limit_key,
            cancel_grace=_duration(cancel_grace, "cancel_grace"),
        )

        def register(function: Callable[..., Any]) -> Task:
            task_name = name or f"{function.__module__}.{function.__qualname__}"
            if task_name in self.tasks:
                raise errors.ConfigError(f"task {task_name!r} is already registered",
                                         task=task_name)
            task = Task(self, self.prepare_function(function), task_name, options)
            self.tasks[task_name] = task
            return task

        return register(fn) if fn is not None else register

    def periodic(self, cron: str, *, args: Sequence[JSON] = (),
                 kwargs: dict[str, JSON] | None = None, **options: Any) -> Callable[[F], Task]:
        """Register a task that is enqueued on a cron schedule (UTC), once per tick however
        many workers run: ``@app.periodic(cron="*/5 * * * *")``. ``options`` are those of
        ``task`` (``name``, ``queue``, ``timeout``...); ``args``/``kwargs`` go to each run."""
        check_cron(cron)

        def register(function: F) -> Task:
            task = self.task(**options)(function)
            self.schedules.append(Schedule(task, cron, tuple(args), dict(kwargs or {})))
            return task

        return register

    child_setup: tuple[str, ...] = ()
    """Modules a job's child process (``isolation="process"``) imports before the task's
    module: an integration's set-up (Django's ``django.setup()``)."""

    def prepare_function(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """What a task runs for ``function``: ``function`` itself. An integration wraps it
        here (Django closes stale database connections around each job); the wrapper
        must keep the signature (``functools.wraps``)."""
        return function

    def get_task(self, name: str) -> Task:
        try:
            return self.tasks[name]
        except KeyError:
            raise errors.UnknownTask(name) from None

    # -- enqueue -------------------------------------------------------------------------

    def enqueue(self, signature: Signature, *, actor: str | None = None) -> JobHandle:
        """Enqueue one job (``actor``: who the trail names; ``user@host`` by default)."""
        return self.enqueue_many([signature], actor=actor)[0]

    def enqueue_many(self, signatures: Sequence[Signature], *, actor: str | None = None
                     ) -> list[JobHandle]:
        """Enqueue several jobs in one transaction: all of them, or none if any is invalid.
        From ``COLLECTOR_PAUSED_FROM`` jobs the cyclic garbage collector waits for the
        call's end (it is turned back on however the call ends)."""
        _texts(actor=actor)
        # made as the store reaches them: the database inserts one chunk while the next
        # is made (an invalid one fails the call, which writes nothing)
        new_jobs = (signature.to_new_job() for signature in signatures)
        with _collector_paused(len(signatures)):
            jobs = self.write_jobs(new_jobs, actor=actor or default_actor())
            return [JobHandle(self, job) for job in jobs]

    def write_jobs(self, new_jobs: Iterable[NewJob], *, actor: str,
                   batch: NewBatch | None = None) -> list[Job]:
        """Where every enqueue writes: at once, in one transaction. An integration may
        defer it (Django: until the caller's transaction commits), having made every job
        first."""
        return self.store.enqueue_jobs(new_jobs, actor=actor, batch=batch)

    # -- queues --------------------------------------------------------------------------

    def pause_queue(self, name: str) -> None:
        """Stop starting jobs from ``name`` on every worker; running jobs go on."""
        self.store.set_queue(_queue_name(name), paused=True)

    def resume_queue(self, name: str) -> None:
        self.store.set_queue(_queue_name(name), paused=False)

    def set_queue_limit(self, name: str, concurrency: int | None) -> None:
        """At most ``concurrency`` jobs of ``name`` run at once across every worker
        (1 = sequential: one at a time); ``None`` removes the limit. Jobs over it wait."""
        if concurrency is not None and (not isinstance(concurrency, int)
                                        or isinstance(concurrency, bool) or concurrency < 1):
            raise errors.ConfigError("concurrency must be an integer >= 1, or None")
        self.store.set_queue(_queue_name(name), concurrency=concurrency,
                             clear_concurrency=concurrency is None)

    def queues(self) -> list[QueueInfo]:
        """Every queue that exists (jobs of any status, a live worker serving it, or
        rules): limit, pause switch and depth."""
        return self.store.queue_stats()

    # -- overview ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """What the dashboard header shows (DESIGN §6/§8): jobs per status, per queue,
        stalled, workers ``{alive, stopped, dead}`` (a worker that stopped cleanly is not
        dead), jobs finished in the last minute, queue limits."""
        counts = self.store.job_counts(datetime.now(UTC) - timedelta(minutes=1))
        states = [worker.state for worker in self.store.list_workers()]
        queues = self.store.queue_stats()
        return {
            "counts": {str(s): counts.get(str(s), 0) for s in JobStatus},
            "stalled": counts.get("stalled", 0),
            "finished_last_minute": counts.get("finished_since", 0),
            "queues": {q.name: {"queued": q.queued, "scheduled": q.scheduled,
                                "running": q.running, "concurrency": q.concurrency,
                                "paused": q.paused} for q in queues},
            "workers": worker_counts(states),
        }

    def workers(self) -> list[tuple[WorkerRecord, list[Job]]]:
        """Every registered worker with the jobs it holds now."""
        held: dict[str, list[Job]] = {}
        for job in self.list_jobs(status=["running", "cancelling"], limit=None):
            held.setdefault(job.worker_id or "", []).append(job)
        return [(worker, held.get(worker.id, [])) for worker in self.store.list_workers()]

    # -- batches -------------------------------------------------------------------------

    def batch(self, signatures: Sequence[Signature], *, name: str | None = None,
              on_complete: Signature | None = None, actor: str | None = None) -> BatchHandle:
        """Create a batch: every job in one transaction (all or none). ``on_complete`` is
        enqueued once, when every job of the batch has finished (however it ended)."""
        _texts(name=name, actor=actor)
        batch_id = uuid7()
        with _collector_paused(len(signatures)):
            new_jobs = [signature.to_new_job(batch_id=batch_id) for signature in signatures]
            new_batch = NewBatch(batch_id, name, on_complete.to_new_job()
                                 if on_complete is not None else None)
            jobs = self.write_jobs(new_jobs, actor=actor or default_actor(), batch=new_batch)
            return BatchHandle(self, batch_id, [JobHandle(self, job) for job in jobs])

    def get_batch(self, batch_id: str) -> Batch:
        """Counts per status, progress and derived state. Raises ``BatchNotFound``."""
        _texts(batch_id=batch_id)
        found = self.store.get_batch(batch_id)
        if found is None:
            raise errors.BatchNotFound(batch_id)
        return found

    def list_batches(self, limit: int = 50, before_id: str | None = None) -> list[Batch]:
        """Batches newest first, each with its counts, progress and derived state
        (``before_id``: only batches older than that one, to page)."""
        return self.store.list_batches(limit=limit, before_id=before_id)

    def cancel_batch(self, batch_id: str, *, reason: str | None = None, force: bool = False,
                     actor: str | None = None) -> dict[str, Any]:
        """Cancel every active job of the batch; finished jobs stay as they are. Returns
        ``{status, batch_id, jobs_cancelled, job_ids}`` with status ``cancelled``, or
        ``no_jobs_to_cancel`` when nothing was active. Raises ``BatchNotFound``."""
        _texts(reason=reason, actor=actor)
        self.get_batch(batch_id)
        result = self.cancel_many(batch_id=batch_id, status=ACTIVE, reason=reason, force=force,
                                  actor=actor)
        return {"status": "cancelled" if result.done else "no_jobs_to_cancel",
                "batch_id": batch_id, "jobs_cancelled": len(result.done),
                "job_ids": result.done}

    # -- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        _texts(job_id=job_id)
        job = self.store.get_job(job_id)
        if job is None:
            raise errors.JobNotFound(job_id)
        return job

    def job(self, job_id: str) -> JobHandle:
        """A handle on an existing job."""
        return JobHandle(self, self.get_job(job_id))

    def resolve_id(self, text: str) -> str:
        """The full id of the job a person named (DESIGN §1): its full id (hyphens
        optional, any case; returned at once, no query), its short id (the last 12 hex
        digits) or any unique prefix or suffix of 6+ hex digits. The CLI and the HTTP API
        resolve every id they are given here. Raises ``InvalidJobId`` (too short, not
        hex), ``JobNotFound``, or ``AmbiguousId`` listing the candidates."""
        return resolve_text(text, lambda digits, limit: self.store.jobs_matching_id(
            digits, limit=limit))

    def list_jobs(
        self,
        *,
        ids: Iterable[str] | None = None,
        status: JobStatus | str | Iterable[JobStatus | str] | None = None,
        queue: str | None = None,
        task: str | None = None,
        batch_id: str | None = None,
        limit_key: str | None = None,
        older_than: str | float | timedelta | None = None,
        newer_than: str | float | timedelta | None = None,
        meta: Mapping[str, JSON] | None = None,
        before_id: str | None = None,
        id_prefix: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        """Jobs matching every filter given, newest first (``ids``: only these, full ids;
        ``older_than`` / ``newer_than``: created longer / less long ago than this
        duration; ``meta``: labels, top-level keys of the job's meta equal to these values,
        ``{"crawl_job_id": 5}``; ``before_id``: only jobs older than that one, to page;
        ``id_prefix``: only ids starting with these hex digits, a range on the primary key;
        ``limit=None``: every match)."""
        where = job_filter(ids=ids, status=status, queue=queue, task=task, batch_id=batch_id,
                           limit_key=limit_key, older_than=older_than, newer_than=newer_than,
                           meta=meta, before_id=before_id, id_prefix=id_prefix)
        return self.store.list_jobs(where, limit=limit)

    def job_events(self, job_id: str) -> list[JobEvent]:
        """The job's audit trail, oldest first."""
        self.get_job(job_id)
        return self.store.job_events(job_id)

    # -- control -------------------------------------------------------------------------

    def cancel(
        self,
        job_id: str,
        *,
        reason: str | None = None,
        force: bool = False,
        actor: str | None = None,
    ) -> Job:
        """Cancel one job and return it with its new status: ``cancelled`` if it had not
        started (or with ``force``), ``cancelling`` while its worker stops it.

        Raises ``JobNotFound``, or ``JobAlreadyFinished`` (with ``status``) for a terminal job.
        """
        _texts(job_id=job_id, reason=reason, actor=actor)
        changes = self.store.cancel_jobs([job_id], actor=actor or default_actor(),
                                         reason=reason, force=force)
        if not changes:
            raise errors.JobNotFound(job_id)
        change = changes[0]
        if not change.changed and change.to_status.is_terminal:
            raise errors.JobAlreadyFinished(job_id, change.to_status.value)
        return change.job or self.get_job(job_id)

    def cancel_many(self, /, ids: Iterable[str] | None = None, *, reason: str | None = None,
                    force: bool = False, dry_run: bool = False, actor: str | None = None,
                    **filters: Any) -> BulkResult:
        """Cancel jobs by ids and/or filter (``status``, ``queue``, ``task``, ``batch_id``,
        ``limit_key``, ``older_than``, ``newer_than``, ``meta``: those of ``list_jobs``).
        Finished jobs are reported in ``refused``."""
        _texts(reason=reason, actor=actor)
        where = self._selection(ids, filters, "cancel")
        if dry_run:
            return BulkResult("cancel", True, self._ids(where))
        changes = self.store.cancel_jobs(where, actor=actor or default_actor(),
                                         reason=reason, force=force)
        return BulkResult("cancel", False, [c.job_id for c in changes],
                          done=[c.job_id for c in changes if c.changed],
                          refused={c.job_id: str(c.to_status) for c in changes if not c.changed},
                          became={c.job_id: str(c.to_status) for c in changes if c.changed})

    def restart_many(self, /, ids: Iterable[str] | None = None, *, reason: str | None = None,
                     dry_run: bool = False, actor: str | None = None,
                     **filters: Any) -> BulkResult:
        """Retry failed or cancelled jobs by ids and/or filter (same ids, fresh budget)."""
        _texts(reason=reason, actor=actor)
        where = self._selection(ids, filters, "restart")
        if dry_run:
            return BulkResult("restart", True, self._ids(where))
        changes = self.store.restart_jobs(where, actor=actor or default_actor(),
                                          reason=reason)
        return BulkResult("restart", False, [c.job_id for c in changes],
                          done=[c.job_id for c in changes if c.changed],
                          refused={c.job_id: str(c.to_status) for c in changes if not c.changed},
                          became={c.job_id: str(c.to_status) for c in changes if c.changed})

    def delete_many(self, /, ids: Iterable[str] | None = None, *, dry_run: bool = False,
                    **filters: Any) -> BulkResult:
        """Delete finished jobs by ids and/or filter, with their audit trails. Active jobs
        are refused (reported in ``refused``), never deleted."""
        where = self._selection(ids, filters, "delete")
        if dry_run:
            return BulkResult("delete", True, self._ids(where))
        deletions = self.store.delete_jobs(where)
        return BulkResult("delete", False, [d.job_id for d in deletions],
                          done=[d.job_id for d in deletions if d.deleted],
                          refused={d.job_id: str(d.status) for d in deletions if not d.deleted})

    def delete(self, job_id: str) -> None:
        """Delete one finished job and its trail. Raises ``JobNotFound`` or
        ``JobActive``."""
        _texts(job_id=job_id)
        deletions = self.store.delete_jobs([job_id])
        if not deletions:
            raise errors.JobNotFound(job_id)
        if not deletions[0].deleted:
            raise errors.JobActive(job_id, str(deletions[0].status))

    def prune(self, *, keep_completed: str | float | None = None,
              keep_failed: str | float | None = None) -> int:
        """Delete finished jobs past retention now (defaults: the ``keep_completed`` /
        ``keep_failed`` settings; failed and cancelled jobs share ``keep_failed``)."""
        now = datetime.now(UTC)
        completed = _duration(keep_completed, "keep_completed") or self.settings.keep_completed
        failed = _duration(keep_failed, "keep_failed") or self.settings.keep_failed
        return self.store.prune_jobs(completed_before=now - timedelta(seconds=completed),
                                     failed_before=now - timedelta(seconds=failed))

    @staticmethod
    def _selection(ids: Iterable[str] | None, filters: dict[str, Any],
                   action: str) -> JobFilter:
        """The jobs a bulk request covers, matched by the store in the request's own
        transaction; a request that names nothing is refused (say what you mean)."""
        where = job_filter(ids=ids, **filters)
        if is_everything(where):
            raise errors.ConfigError(f"{action} needs ids or a filter (status=..., queue=...)")
        return where

    def _ids(self, where: JobFilter) -> list[str]:
        """What a dry run would cover: the same match, by a read."""
        return [job.id for job in self.store.list_jobs(where, limit=None)]

    @overload
    def reset_stuck(self, older_than: str | float | timedelta, *, reason: str | None = None,
                    actor: str | None = None, dry_run: Literal[False] = False) -> list[str]: ...

    @overload
    def reset_stuck(self, older_than: str | float | timedelta, *, reason: str | None = None,
                    actor: str | None = None, dry_run: Literal[True]) -> StuckReset: ...

    @overload
    def reset_stuck(self, older_than: str | float | timedelta, *, reason: str | None = None,
                    actor: str | None = None, dry_run: bool) -> list[str] | StuckReset: ...

    def reset_stuck(self, older_than: str | float | timedelta, *, reason: str | None = None,
                    actor: str | None = None, dry_run: bool = False) -> list[str] | StuckReset:
        """Deal with jobs running for longer than ``older_than`` (``"30m"``, seconds or a
        timedelta): fail those whose worker is dead, cancel the rest. Returns their ids.

        ``dry_run=True`` changes nothing (no job, trail row or worker: none is marked dead)
        and returns a ``StuckReset``: the ids it would fail (``WorkerLost``) and cancel.

        The reaper already recovers dead workers' jobs by itself; this is the operator's
        "make it stop" for jobs that are alive but should not be."""
        _texts(reason=reason, actor=actor)
        seconds = config.duration_seconds(older_than, name="older_than")
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
        changes = self.store.reset_stuck(cutoff, lease=self.settings.lease,
                                         actor=actor or default_actor(), reason=reason,
                                         dry_run=dry_run)
        if dry_run:
            return StuckReset(
                failed=[c.job_id for c in changes if c.to_status == JobStatus.FAILED],
                cancelled=[c.job_id for c in changes if c.to_status != JobStatus.FAILED])
        return [change.job_id for change in changes]

    def restart(self, job_id: str, *, reason: str | None = None,
                actor: str | None = None) -> Job:
        """Put a ``failed`` or ``cancelled`` job back to ``queued`` under the same id, with
        a fresh attempt budget. Raises ``JobNotFound``, or ``JobNotRestartable`` (with
        ``status``) for an active or completed job."""
        _texts(job_id=job_id, reason=reason, actor=actor)
        changes = self.store.restart_jobs([job_id], actor=actor or default_actor(),
                                          reason=reason)
        if not changes:
            raise errors.JobNotFound(job_id)
        change = changes[0]
        if not change.changed:
            raise errors.JobNotRestartable(job_id, change.to_status.value)
        return change.job or self.get_job(job_id)

    def run_now(self, job_id: str, *, actor: str | None = None) -> Job:
        """Make a ``scheduled`` job (delayed, cron, retry backoff) due at once: it becomes
        ``queued`` with ``run_at`` now and the workers of its queue are woken; the trail
        says who (``run_now``). Raises ``JobNotFound``, or ``JobNotScheduled`` (with
        ``status``) for a job in any other state, which is left as it is."""
        _texts(job_id=job_id, actor=actor)
        changes = self.store.run_now([job_id], actor=actor or default_actor())
        if not changes:
            raise errors.JobNotFound(job_id)
        change = changes[0]
        if not change.changed:
            raise errors.JobNotScheduled(job_id, change.to_status.value)
        return change.job or self.get_job(job_id)

    # -- async twins (DESIGN §3): the same calls in a thread, so an event loop never blocks

    aenqueue = twins.async_twin(enqueue)
    aenqueue_many = twins.async_twin(enqueue_many)
    apause_queue = twins.async_twin(pause_queue)
    aresume_queue = twins.async_twin(resume_queue)
    aset_queue_limit = twins.async_twin(set_queue_limit)
    aqueues = twins.async_twin(queues)
    astats = twins.async_twin(stats)
    aworkers = twins.async_twin(workers)
    abatch = twins.async_twin(batch)
    aget_batch = twins.async_twin(get_batch)
    alist_batches = twins.async_twin(list_batches)
    acancel_batch = twins.async_twin(cancel_batch)
    aget_job = twins.async_twin(get_job)
    ajob = twins.async_twin(job)
    aresolve_id = twins.async_twin(resolve_id)
    alist_jobs = twins.async_twin(list_jobs)
    ajob_events = twins.async_twin(job_events)
    acancel = twins.async_twin(cancel)
    acancel_many = twins.async_twin(cancel_many)
    arestart = twins.async_twin(restart)
    arestart_many = twins.async_twin(restart_many)
    arun_now = twins.async_twin(run_now)
    adelete = twins.async_twin(delete)
    adelete_many = twins.async_twin(delete_many)
    aprune = twins.async_twin(prune)
    areset_stuck = twins.async_twin(reset_stuck)
