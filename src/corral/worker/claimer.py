"""The claim loop: fill free slots in batches, then wait for a doorbell or the next poll.

Polling adapts: right after a claim that found work it claims again at once; when the
queues are empty it waits from ``MIN_POLL`` doubling up to ``MAX_POLL``. A notification
(new work on one of our queues) or a freed slot wakes it at once.
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

    def stop(self) -> None:
        super().stop()
        self.wake.set()

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
            free = self._free_slots()
        wanted = min(free, self._batch_size)
        jobs = self._store.claim_jobs(self._worker_id, self._queues, wanted)
        for job in jobs:
            self._dispatch(job)
        self._backlog = len(jobs) == wanted
        if jobs:
            self._poll = MIN_POLL
            if self._backlog:
                return  # there may be more: claim again at once
        self.wake.wait(self._poll)
        self._poll = min(self._poll * 2, MAX_POLL)
