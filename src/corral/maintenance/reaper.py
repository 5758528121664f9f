"""The reaper: jobs of dead workers go back to the queue (or fail), never stay "running".

A worker is dead when its liveness lock is free (known within one pass of its death; on
PostgreSQL within two passes ``LOCK_CONFIRM`` apart) or it has been silent for ``lease``.
The rule (DESIGN §5): a job is recovered because its worker is dead, never because it has
run long.
"""

from __future__ import annotations

import logging
import time

from corral.maintenance.service import PeriodicService
from corral.store import Store
from corral.store.base import ReapReport

logger = logging.getLogger("corral.maintenance")
MAX_INTERVAL = 0.25
"""Lock checks are cheap, so the reaper runs at least this often: a ``kill -9``-ed worker's
jobs are back in the queue within a second (on PostgreSQL a free lock must be seen twice,
``LOCK_CONFIRM`` apart, since a live worker's connection may just have dropped)."""


CONFIRM_SLACK = 0.01
"""Seconds past a free lock's confirmation time the reaper looks again (its clock and the
server's are not the same)."""


class Reaper(PeriodicService):
    name = "reaper"

    def __init__(self, store: Store, *, lease: float, heartbeat_interval: float,
                 actor: str) -> None:
        super().__init__(min(heartbeat_interval, MAX_INTERVAL))
        self._store = store
        self._lease = lease
        self._actor = actor
        self._confirm_at: float | None = None  # monotonic; the loop's thread only

    def next_wait(self) -> float:
        """A free lock seen in the last pass is confirmed the moment it can be, not up to
        an interval later (PostgreSQL: recovery within LOCK_CONFIRM plus one interval)."""
        wait = super().next_wait()
        if self._confirm_at is None:
            return wait
        return min(wait, max(self._confirm_at - time.monotonic(), 0.0))

    def run_once(self) -> ReapReport:
        report = self._store.reap(lease=self._lease, actor=self._actor)
        self._confirm_at = (None if report.confirm_in is None
                            else time.monotonic() + report.confirm_in + CONFIRM_SLACK)
        if report.dead_workers or report.recovered:
            logger.warning(
                "reaper: dead workers %s; requeued %d, failed %d, cancelled %d job(s)",
                ", ".join(report.dead_workers) or "-", len(report.requeued),
                len(report.failed), len(report.cancelled),
            )
        return report
