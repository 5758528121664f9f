"""The watchdog: timeouts, stalls and cancels nobody honours, for this worker's jobs.

Every ``INTERVAL`` it looks at each execution once:

- past its ``timeout``: cancel it; the executor turns that stop into ``JobTimeout``;
- progress still for its task's ``stall_after``: flag it stalled (and cancel it when the
  task says ``on_stall="cancel"``);
- cancelled but still running ``cancel_grace`` later (its task's, else the worker's): flag
  it unresponsive (process isolation kills it instead);
- this worker fenced (``corral.worker.fence``): stop it and hand it back to the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from corral import ids
from corral.maintenance.service import PeriodicService
from corral.store import Store
from corral.worker.executor import Execution
from corral.worker.fence import Fence

logger = logging.getLogger("corral.worker")
INTERVAL = 0.05


class Watchdog(PeriodicService):
    name = "watchdog"

    def __init__(self, store: Store, executions: Callable[[], list[Execution]],
                 cancel_grace: float, fence: Fence | None = None) -> None:
        super().__init__(INTERVAL, jitter=0)
        self._store = store
        self._executions = executions
        self._cancel_grace = cancel_grace
        self._fence = fence

    def run_once(self, now: float | None = None) -> int:
        """One look at every execution (as of ``now``, a ``time.monotonic()``); returns
        how many it looked at."""
        now = time.monotonic() if now is None else now
        fenced = self._fence.reason(now) if self._fence is not None else None
        executions = self._executions()
        for execution in executions:
            if fenced:
                self._check_fenced(execution, fenced)
            self._check_timeout(execution, now)
            self._check_stall(execution, now)
            self._check_unresponsive(execution, now)
        return len(executions)

    def _check_fenced(self, execution: Execution, reason: str) -> None:
        if execution.fenced:
            return
        execution.fenced = True
        logger.warning("job %s stopped and handed back: this worker is fenced (%s)",
                       ids.short(execution.job_id), reason)
        execution.hand_back(f"worker fenced: {reason}")

    def _check_timeout(self, execution: Execution, now: float) -> None:
        timeout = execution.job.timeout
        if timeout is not None and not execution.timed_out and now - execution.claimed_at > timeout:
            execution.timed_out = True
            logger.warning("job %s ran past its timeout (%gs); stopping it",
                           ids.short(execution.job_id),
                           timeout)
            execution.request_cancel("timeout")

    def _check_stall(self, execution: Execution, now: float) -> None:
        task = execution.task
        if task is None or task.options.stall_after is None:
            return
        still = now - execution.ctx.progress_moved_at
        if still <= task.options.stall_after:
            execution.stalled = False  # moved again: the next stall is reported anew
            return
        if execution.stalled:
            return
        execution.stalled = True
        job = execution.job
        self._store.mark_stalled(job.id, execution.worker_id, job.attempt)
        logger.warning("job %s stalled: no progress for %.1fs", ids.short(job.id), still)
        if task.options.on_stall == "cancel":
            self._store.cancel_jobs([job.id], actor=execution.worker_id,
                                    reason=f"stalled: no progress for {still:.1f}s")

    def _check_unresponsive(self, execution: Execution, now: float) -> None:
        asked = execution.ctx.cancel_requested_at
        grace = execution.cancel_grace(self._cancel_grace)
        if asked is None or execution.unresponsive or now - asked <= grace:
            return
        execution.unresponsive = True
        job = execution.job
        self._store.mark_unresponsive(job.id, execution.worker_id, job.attempt)
        logger.warning("job %s ignores its cancel after %gs: unresponsive", ids.short(job.id),
                       grace)
