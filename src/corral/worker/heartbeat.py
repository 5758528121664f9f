"""Heartbeat: every ``heartbeat_interval`` one store call says "alive" for the worker and
all its jobs, and returns what the store thinks those jobs are.

It is also the cancel path that cannot be lost: a job shown ``cancelling`` is stopped even
if every notification went missing, and a job the store no longer gives this worker
(force-cancelled, or taken away) is stopped as lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from corral.maintenance.service import PeriodicService
from corral.status import JobStatus
from corral.store import Store
from corral.worker.fence import Fence


class Heartbeat(PeriodicService):
    name = "heartbeat"

    def __init__(
        self,
        store: Store,
        worker_id: str,
        interval: float,
        held: Callable[[float], set[str]],
        on_cancel: Callable[[str], None],
        on_lost: Callable[[str], None],
        fence: Fence | None = None,
    ) -> None:
        super().__init__(interval, jitter=0)  # the lease is counted in these intervals
        self._fence = fence
        self._store = store
        self._worker_id = worker_id
        self._held = held  # ids of jobs this worker claimed before the given monotonic time
        self._on_cancel = on_cancel
        self._on_lost = on_lost

    def run_once(self) -> int:
        return self.beat()

    def beat(self) -> int:
        """One heartbeat; returns how many jobs the store says this worker holds."""
        started = time.monotonic()
        believed = self._held(started)
        seen = self._store.heartbeat(self._worker_id)
        if self._fence is not None:
            self._fence.heartbeat_ok(started)
        for job in seen:
            if job.status == JobStatus.CANCELLING:
                self._on_cancel(job.job_id)
        for job_id in believed - {job.job_id for job in seen}:
            self._on_lost(job_id)
        return len(seen)
