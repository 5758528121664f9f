"""The worker's writer: outcomes, progress and trail notes, batched into few statements.

Task threads never wait on the store for progress: ``progress_changed`` marks the context
dirty and the recorder writes every dirty job in one statement per flush. Outcomes are
written as soon as they arrive (all that arrived together in one transaction); before an
outcome is written, the notes and progress queued ahead of it are, so the trail reads in
the order things happened.

One writer at a time, whichever thread it is: the recorder's own, or a task's thread that
submits with ``write_now`` (the worker's only job: nothing to batch it with, and handing
it to the recorder's thread cost a wake-up, ~0.1-0.2 ms of the job's end-to-end time).
Items leave the inbox only in the writer's hands, so either way they are written in the
order they came. The writer writes on a connection the recorder keeps
(``Store.keep_connection``), whichever thread it is.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral import errors, ids
from corral.context import Context
from corral.job import JSON
from corral.maintenance.service import Service
from corral.outcome import Outcome
from corral.store import Store
from corral.store.base import FinishResult, NewEvent, ProgressUpdate

logger = logging.getLogger("corral.worker")
PROGRESS_FLUSH_INTERVAL = 0.1


@dataclass(frozen=True)
class _Finished:
    outcome: Outcome
    on_recorded: Callable[[FinishResult], None]
    hand_back: str | None = None
    """Why the job goes back to the queue (shutdown, fencing) instead of recording the
    outcome; a job that is no longer plainly ``running`` (a cancel is pending, or it was
    taken away) has its outcome recorded as usual."""


class Recorder(Service):
    """Implements ``corral.context.Reporter`` for the worker's executions."""

    name = "recorder"

    def __init__(self, store: Store, on_lost: Callable[[str], None]) -> None:
        super().__init__()
        self._store = store
        self._on_lost = on_lost  # called with a job id the store says we no longer hold
        self._inbox: queue.SimpleQueue[_Finished | NewEvent] = queue.SimpleQueue()
        self._queued = threading.Event()  # the inbox has something for the recorder
        self._writing = threading.Lock()  # held by the one thread writing
        self._connection = store.keep_connection()  # lent to the thread writing
        self._dirty: dict[str, Context] = {}  # written by task threads, drained here
        self._dirty_lock = threading.Lock()

    # -- Reporter ----------------------------------------------------------------------

    def progress_changed(self, ctx: Context) -> None:
        with self._dirty_lock:
            self._dirty[ctx.job_id] = ctx

    def phase_entered(self, ctx: Context, phase: str) -> None:
        self._put(NewEvent(ctx.job_id, "phase", actor=ctx.job.worker_id,
                           data={"phase": phase}))

    def log(self, ctx: Context, message: str, data: dict[str, JSON]) -> None:
        self._put(NewEvent(ctx.job_id, "log", actor=ctx.job.worker_id, reason=message,
                           data=data))

    def save(self, ctx: Context, value: JSON) -> None:
        job = ctx.job
        if not self._store.save_result(job.id, job.worker_id or "", job.attempt, value):
            raise errors.Cancelled("this worker no longer holds the job")

    # -- outcomes ----------------------------------------------------------------------

    def submit(self, outcome: Outcome, on_recorded: Callable[[FinishResult], None], *,
               hand_back: str | None = None, write_now: bool = False) -> None:
        """Queue the outcome; with ``write_now``, write it (and what is queued before it)
        in the calling thread unless a write is under way. A failed write there is left
        to the recorder's loop, which retries it with its pauses."""
        self._put(_Finished(outcome, on_recorded, hand_back))
        if not write_now or not self._writing.acquire(blocking=False):
            return
        try:
            self._flush_taken()
        except Exception:
            logger.info("writing outcome of job %s failed; the recorder retries",
                        ids.short(outcome.job_id), exc_info=True)
        finally:
            self._writing.release()

    def step(self) -> None:
        self._queued.wait(PROGRESS_FLUSH_INTERVAL)  # or flush dirty progress on time
        self._queued.clear()
        with self._writing:
            self._flush_taken()

    def _put(self, item: _Finished | NewEvent) -> None:
        self._inbox.put(item)
        self._queued.set()

    def _flush_taken(self) -> None:
        """Write what is queued now, on the kept connection (the caller holds
        ``_writing``)."""
        with self._connection.lend():
            self.flush(self._take())

    def _take(self) -> list[_Finished | NewEvent]:
        """Everything queued now (the caller holds ``_writing``)."""
        items = []
        try:
            while True:
                items.append(self._inbox.get_nowait())
        except queue.Empty:
            return items

    def flush(self, items: list[_Finished | NewEvent]) -> None:
        """Write notes, then progress, then outcomes. On a store error, what was not yet
        written goes back to be retried (the loop pauses first): nothing is lost, nothing
        is written twice."""
        events = [item for item in items if isinstance(item, NewEvent)]
        finished = [item for item in items if isinstance(item, _Finished)]
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, {}
        try:
            self._store.add_events(events)
        except Exception:
            self._requeue(items, dirty)
            raise
        try:
            self._write_progress(dirty)
        except Exception:
            self._requeue(finished, dirty)
            raise
        finished = self._hand_back(finished)
        try:
            results = self._store.finish_jobs([item.outcome for item in finished])
        except Exception:
            self._requeue(finished, {})
            raise
        for item, result in zip(finished, results, strict=True):
            if not result.recorded:
                logger.warning("outcome of job %s refused: no longer held (now %s)",
                               ids.short(result.job_id), result.status)
            item.on_recorded(result)

    def _hand_back(self, finished: list[_Finished]) -> list[_Finished]:
        """Release the jobs to hand back (attempt not spent); returns the rest to record.
        On a store error what was not handled yet goes back to the inbox."""
        rest: list[_Finished] = []
        for index, item in enumerate(finished):
            outcome = item.outcome
            if item.hand_back is None:
                rest.append(item)
                continue
            try:
                released = self._store.release_jobs(outcome.worker_id, [outcome.job_id],
                                                    reason=item.hand_back)
            except Exception:
                self._requeue(rest + finished[index:], {})
                raise
            if released:
                item.on_recorded(FinishResult(outcome.job_id, False, None))
            else:
                rest.append(_Finished(outcome, item.on_recorded))
        return rest

    def _requeue(self, items: Sequence[_Finished | NewEvent], dirty: dict[str, Context]) -> None:
        for item in items:
            self._put(item)
        with self._dirty_lock:
            self._dirty = {**dirty, **self._dirty}

    def _write_progress(self, dirty: dict[str, Context]) -> None:
        updates = []
        for ctx in dirty.values():
            progress = ctx.current_progress
            updates.append(ProgressUpdate(ctx.job_id, ctx.job.worker_id or "", ctx.attempt,
                                          ctx.current_phase, progress.current, progress.total,
                                          progress.message))
        for job_id in self._store.record_progress(updates):
            self._on_lost(job_id)

    def drain(self) -> None:
        """Write everything still queued, and give the kept connection back (used at
        shutdown; a write after it runs on the store's usual connections)."""
        with self._writing:
            try:
                self._flush_taken()
            finally:
                self._connection.release()
