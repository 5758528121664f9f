"""The claim loop: fill free slots in batches, then wait for a doorbell or the next poll.

Polling adapts: right after a claim that found work it claims again at once; when the
queues are empty it waits from ``MIN_POLL`` doubling up to ``MAX_POLL``. A notification
(new work on one of our queues) or a freed slot wakes it at once. The listener may claim
in its place (``claim_now``) while the claimer is idle: one thread claims at a time. The
claimer claims on a connection it keeps (``Store.keep_connection``), the listener on its
own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from corral.job import Job
from corral.maintenance.service import Service
from corral.store import Store

MIN_POLL = 0.05
MAX_POLL = 1.0
GATHER_SLOTS = 0.002


class Claimer(Service):
    name = "claimer"

    def __init__(
        self,
        store: Store,
        worker_id: str,
        queues: Sequence[str],
        free_slots: Callable[[], int],
        dispatch: Callable[[Job], None],
        batch_size: int,
    ) -> None:
        super().__init__()
        self._store = store
        self._worker_id = worker_id
        self._queues = list(queues)
        self._free_slots = free_slots
        self._dispatch = dispatch
        self._batch_size = batch_size
        self.wake = threading.Event()  # set by the listener and by finished jobs
        self.paused = threading.Event()  # set at shutdown: claim nothing more
        self._poll = MIN_POLL
        self._backlog = False  # the last claim filled every slot it asked for
        self._claiming = threading.Lock()  # held from counting free slots to dispatch
        self._connection = store.keep_connection()  # the claimer thread's, not the listener's

    def stop(self) -> None:
        super().stop()
        self.wake.set()

    def pause(self) -> None:
        """Claim nothing more. Returns once a claim under way (this thread's, or the
        listener's ``claim_now``) has dispatched its jobs: a job claimed just before a
        shutdown is then among the worker's running jobs, waited for like the others,
        never left "running" in the store with nobody to run it."""
        self.paused.set()
        with self._claiming:
            pass

    def step(self) -> None:
        self.wake.clear()
        free = 0 if self.paused.is_set() else self._free_slots()
        if free <= 0:
            self.wake.wait(MAX_POLL)
            return
        if self._backlog and free < self._batch_size // 2:
            # Work is waiting and most slots are busy: let a few more free up, so one
            # claim serves several slots instead of one claim per finished job.
            self.wake.wait(GATHER_SLOTS)
        with self._claiming, self._connection.lend():
            found = self._claim()
        if found and self._backlog:
            return  # there may be more: claim again at once
        self.wake.wait(self._poll)
        self._poll = min(self._poll * 2, MAX_POLL)

    def ended(self) -> None:
        self._connection.release()

    def claim_now(self) -> None:
        """Claim on the calling thread (the listener's, just notified of new work) if the
        claimer is not claiming already; else wake it. The claimer carries on after a
        claim that filled every slot it asked for."""
        if self.paused.is_set() or not self._claiming.acquire(blocking=False):
            self.wake.set()
            return
        try:
            self._claim()
        finally:
            self._claiming.release()
        if self._backlog:
            self.wake.set()

    def _claim(self) -> int:
        """Claim into the free slots and dispatch; under ``_claiming``. Returns how many."""
        if self.paused.is_set():  # checked under the lock: see pause()
            return 0
        wanted = min(self._free_slots(), self._batch_size)
        if wanted <= 0:
            return 0
        jobs = self._store.claim_jobs(self._worker_id, self._queues, wanted)
        for job in jobs:
            self._dispatch(job)
        self._backlog = len(jobs) == wanted
        if jobs:
            self._poll = MIN_POLL
        return len(jobs)
