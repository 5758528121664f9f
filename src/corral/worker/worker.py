"""The worker's lifecycle: register, start its threads, run jobs, stop cleanly.

Threads of one worker and what they own:

- claimer: claims into free slots and dispatches to a runner (one thread claims at a time);
- thread pool (``concurrency`` threads) and one event loop: run task code;
- recorder: writes outcomes, progress and trail notes;
- heartbeat: liveness, the cancel fallback, lost-job detection;
- listener: doorbell / NOTIFY, delivers cancels; on new work it claims itself while the
  claimer is idle, on its own connection where the store lends it (PostgreSQL), else it
  wakes the claimer.

``running`` maps job id -> Execution for every job claimed and not yet recorded; the
claiming thread adds, the recorder's callback removes, the others read it under ``_lock``. A
cancel that arrives for a job claimed but not yet in ``running`` (the claim has committed,
the job is not dispatched yet) is kept in ``_cancelled_early`` and applied at dispatch;
dropped, it would wait for the next heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from types import FrameType

from corral import errors, ids
from corral.app import Corral
from corral.context import Context
from corral.job import Job
from corral.maintenance.housekeeper import Housekeeper
from corral.maintenance.pruner import Pruner
from corral.maintenance.reaper import Reaper
from corral.outcome import Outcome, OutcomeKind
from corral.store.base import FinishResult, WorkerInfo
from corral.version import __version__
from corral.worker.claimer import Claimer
from corral.worker.executor import Execution
from corral.worker.fence import Fence
from corral.worker.heartbeat import Heartbeat
from corral.worker.isolation import AsyncRunner, ThreadRunner
from corral.worker.listener import NotificationLoop
from corral.worker.process import ProcessRunner
from corral.worker.recorder import Recorder
from corral.worker.watchdog import Watchdog

logger = logging.getLogger("corral.worker")
DEFAULT_CONCURRENCY = 20
"""Jobs one worker runs at once. A claim fills every free slot in one round trip, so
short jobs drain at up to (slots / claim time): 10 slots drained ~2,400 jobs/s on
PostgreSQL here, 20 ~3,500. Peers: pgqueuer runs unbounded by default, River and Oban
take a per-queue limit (often 10-100)."""
HAND_BACK_WAIT = 2.0
"""Seconds jobs get to reach a checkpoint once shutdown cancels them."""


class Worker:
    """Runs the jobs of ``app`` from ``queues`` with up to ``concurrency`` at once, on
    threads of this process (``corral.Worker``: the way to run one in a process you own).

    Tasks are looked up in ``app`` when a job is claimed, so a task registered after
    ``start()`` runs too, as long as its queue is one of ``queues``.
    """

    def __init__(
        self,
        app: Corral,
        *,
        queues: Sequence[str] = ("default",),
        concurrency: int = DEFAULT_CONCURRENCY,
        worker_id: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise errors.ConfigError("concurrency must be at least 1")
        if not queues:
            raise errors.ConfigError("a worker needs at least one queue")
        self.app = app
        self.queues = tuple(queues)
        self.concurrency = concurrency
        host = socket.gethostname()
        self.id = worker_id or f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.host = host
        self.running: dict[str, Execution] = {}
        self._recording: set[str] = set()  # done running, outcome not yet written
        self._cancelled_early: dict[str, float] = {}  # job id -> when its cancel came
        self._lock = threading.Lock()  # guards running
        self._idle = threading.Condition(self._lock)
        self._started = False
        self._stopped = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Register and start every thread; returns at once (see ``run`` to block)."""
        store = self.app.store
        self._liveness = store.acquire_liveness(self.id)
        self._listener = store.open_listener()
        store.register_worker(WorkerInfo(
            id=self.id, host=self.host, pid=os.getpid(), queues=self.queues,
            concurrency=self.concurrency, version=__version__,
            doorbell=self._listener.address,
        ))
        # one thread more than slots: on PostgreSQL a lone job's thread writes its outcome
        # (see _finished), and the job claimed meanwhile must not wait for that thread
        self._threads = ThreadRunner(self.concurrency + 1)
        self._loop = AsyncRunner()
        self.recorder = Recorder(store, on_lost=self._lost)
        self._processes = ProcessRunner(self.concurrency, store, self.recorder,
                                        cancel_grace=self.app.settings.cancel_grace)
        self.claimer = Claimer(store, self.id, self.queues, self._free_slots, self._dispatch,
                               batch_size=self.concurrency)
        self.fence = Fence(self._liveness, self.app.settings.lease)
        self.heartbeat = Heartbeat(store, self.id, self.app.settings.heartbeat_interval,
                                   held=self._held_since, on_cancel=self._cancel,
                                   on_lost=self._lost, fence=self.fence)
        self.notifications = NotificationLoop(self._listener, self.id, self.queues,
                                              wake_claimer=self.claimer.wake.set,
                                              claim_now=self.claimer.claim_now,
                                              on_cancel=self._cancel)
        settings = self.app.settings
        self.reaper = Reaper(store, lease=settings.lease,
                             heartbeat_interval=settings.heartbeat_interval,
                             actor=f"reaper:{self.id}")
        self.housekeeper = Housekeeper(store, actor=f"housekeeper:{self.id}",
                                       schedules=self.app.schedules)
        self.pruner = Pruner(store, keep_completed=settings.keep_completed,
                             keep_failed=settings.keep_failed)
        self.watchdog = Watchdog(store, self._executions, cancel_grace=settings.cancel_grace,
                                 fence=self.fence)
        self._services = (self.recorder, self.heartbeat, self.notifications, self.claimer,
                          self.reaper, self.housekeeper, self.pruner, self.watchdog)
        for service in self._services:
            service.start()
        self._started = True
        logger.info("worker %s started: queues=%s concurrency=%d store=%s", self.id,
                    ",".join(self.queues), self.concurrency, store.url)

    def stop(self, *, grace: float | None = None, wait: bool = True,
             timeout: float | None = None) -> None:
        """Stop claiming, let running jobs finish, then stop every thread.

        ``grace``: seconds running jobs get to finish; ``None`` waits as long as they
        take. Jobs still running after it are cancelled and handed back: they get
        ``HAND_BACK_WAIT`` seconds to reach a checkpoint (their ``finally`` blocks run),
        then they are ``queued`` again without spending an attempt, for the next worker.

        ``timeout`` is the older name of ``grace`` (give one of them), and
        ``wait=False`` means ``grace=0``: hand running jobs back at once.
        """
        if grace is not None and timeout is not None:
            raise errors.ConfigError("give grace or timeout, not both")
        limit = grace if grace is not None else timeout
        if limit is not None and limit < 0:
            raise errors.ConfigError(f"grace must be zero or more seconds, got {limit}")
        if not wait:
            limit = 0.0
        if not self._started or self._stopped.is_set():
            return
        self.claimer.pause()
        self.claimer.stop()
        if not self.wait_idle(limit):
            self._hand_back()
        for service in (self.claimer, self.heartbeat, self.notifications, self.reaper,
                        self.housekeeper, self.pruner, self.watchdog):
            service.stop()
        self.recorder.stop()
        self.recorder.join(timeout=5)
        self.recorder.drain()
        self._threads.shutdown(wait=False)
        self._processes.shutdown(wait=False)
        self._loop.shutdown(wait=False)
        self._listener.close()
        self.app.store.deregister_worker(self.id)
        self._liveness.release()
        self._stopped.set()
        logger.info("worker %s stopped", self.id)

    def _hand_back(self) -> None:
        """Cancel what still runs; each job that stops is released to the queue (in
        ``_finished``); after ``HAND_BACK_WAIT`` the rest are released as they are (their
        threads cannot be killed: the CLI worker exits, which ends them)."""
        with self._lock:
            executions = list(self.running.values())
        if not executions:
            return
        logger.warning("handing %d running job(s) back to the queue", len(executions))
        for execution in executions:
            execution.hand_back("worker shut down mid-job")
        if not self.wait_idle(HAND_BACK_WAIT):
            with self._lock:
                stuck = list(self.running)
            self.app.store.release_jobs(self.id, stuck, reason="worker shut down mid-job")

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is running (True) or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self.running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def run(self) -> None:
        """Run until SIGTERM/SIGINT: the first stops claiming and lets running jobs finish
        (up to ``shutdown_grace``); a second exits at once. The handlers are in place
        before the worker registers: a signal while it starts stops it cleanly once
        started, never kills it registered and holding jobs."""
        signals = {"count": 0}
        started = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            signals["count"] += 1
            if signals["count"] > 1:
                logger.warning("second signal: exiting now")
                os._exit(1)
            logger.info("signal %d: finishing %d running job(s), then stopping", signum,
                        len(self.running))
            threading.Thread(target=self._shutdown, args=(started,), daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        started.set()
        while not self._stopped.wait(0.5):
            pass
        if self.running:
            # Threads cannot be killed; leave their jobs to the reaper rather than hang.
            logger.warning("exiting with %d job(s) still running", len(self.running))
            os._exit(1)

    def _shutdown(self, started: threading.Event) -> None:
        started.wait()
        self.stop(wait=True, timeout=self.app.settings.shutdown_grace)

    # -- jobs ----------------------------------------------------------------------------

    def _free_slots(self) -> int:
        """Slots whose job has stopped running count as free even before its outcome is
        written: the next claim overlaps that write instead of waiting for it (the job is
        still held, and fenced, until the write lands). Not on a single-writer store,
        where the claim would only wait for the write's lock (measured 6% slower)."""
        if self.fence.reason(time.monotonic()):
            return 0  # not sure to be alive in the store's eyes: claim nothing
        with self._lock:
            overlap = 0 if self.app.store.single_writer else len(self._recording)
            return self.concurrency - len(self.running) + overlap

    def _dispatch(self, job: Job) -> None:
        task = self.app.tasks.get(job.task)
        in_child = task is not None and task.options.isolation == "process"
        on_loop = task is not None and task.is_async and not in_child
        runner: ThreadRunner | AsyncRunner | ProcessRunner = (
            self._processes if in_child else self._loop if on_loop else self._threads
        )
        ctx = self._context(job, phases=task.options.phases if task else (),
                            loop=self._loop.loop if on_loop else None)
        execution = Execution(job, task, ctx, self.id)
        with self._lock:
            self.running[job.id] = execution
            cancelled = self._cancelled_early.pop(job.id, None) is not None
        runner.submit(execution, self._finished_on_thread if runner is self._threads
                      else self._finished)
        if cancelled:
            execution.request_cancel(None)

    def _context(self, job: Job, *, phases: tuple[str, ...],
                 loop: asyncio.AbstractEventLoop | None) -> Context:
        """The context ``job`` runs with (``corral.testing`` gives one that cancels itself
        at a chosen checkpoint)."""
        return Context(job, self.recorder, phases=phases, loop=loop)

    def _finished(self, outcome: Outcome, *, own_thread: bool = False) -> None:
        """A job stopped running: its outcome is recorded, or, if it was stopped to hand it
        back (shutdown, fencing), it is released to the queue; a job that completed or
        failed meanwhile is recorded as it ended, and so is a user's cancel. The worker's
        only job, ended on a thread of its own (not the event loop's), is written from
        that thread on PostgreSQL: no other outcome to batch it with, and no hand-off to
        wait for."""
        with self._lock:
            execution = self.running.get(outcome.job_id)
            self._recording.add(outcome.job_id)
            alone = len(self.running) == 1
        hand_back = (execution.handing_back if execution is not None
                     and outcome.kind == OutcomeKind.CANCELLED else None)
        self.claimer.wake.set()  # before the write: the next claim overlaps it
        # not on a single-writer store (SQLite): there the next claim waits for the
        # write either way, and one worker on one slot drained 12% slower
        write_now = own_thread and alone and not self.app.store.single_writer
        self.recorder.submit(outcome, self._recorded, hand_back=hand_back,
                             write_now=write_now)

    def _finished_on_thread(self, outcome: Outcome) -> None:
        self._finished(outcome, own_thread=True)

    def _recorded(self, result: FinishResult) -> None:
        with self._idle:
            self.running.pop(result.job_id, None)
            self._recording.discard(result.job_id)
            self._idle.notify_all()
        self.claimer.wake.set()

    def _executions(self) -> list[Execution]:
        with self._lock:
            return list(self.running.values())

    def _held_since(self, before: float) -> set[str]:
        with self._lock:
            return {job_id for job_id, ex in self.running.items() if ex.claimed_at < before}

    def _cancel(self, job_id: str) -> None:
        with self._lock:
            execution = self.running.get(job_id)
            if execution is None:
                self._remember_early_cancel(job_id)
        if execution is not None:
            execution.request_cancel(None)  # the store keeps the reason for the trail

    def _remember_early_cancel(self, job_id: str) -> None:
        """Keep a cancel for a job this worker does not run (yet); under ``_lock``. Kept
        one heartbeat: by then a claimed job is dispatched, and a job that had already
        finished will never be."""
        now = time.monotonic()
        kept_from = now - self.app.settings.heartbeat_interval
        for old in [key for key, at in self._cancelled_early.items() if at < kept_from]:
            del self._cancelled_early[old]
        self._cancelled_early[job_id] = now

    def _lost(self, job_id: str) -> None:
        with self._lock:
            execution = self.running.get(job_id)
            finishing = job_id in self._recording  # its outcome is being written: not lost
        if execution is not None and not finishing and not execution.ctx.cancelled:
            logger.warning("job %s is no longer held by this worker; stopping it",
                           ids.short(job_id))
            execution.request_cancel("this worker no longer holds the job")
