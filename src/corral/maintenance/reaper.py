"""The reaper: jobs of dead workers go back to the queue (or fail), never stay "running".

A worker is dead when its liveness lock is free (known within one pass of its death; on
PostgreSQL within two passes ``LOCK_CONFIRM`` apart) or it has been silent for ``lease``.
The rule (DESIGN §5): a job is recovered because its worker is dead, never because it has
run long.
"""

from __future__ import annotations

import logging

from corral.maintenance.service import PeriodicService
from corral.store import Store
from corral.store.base import ReapReport

logger = logging.getLogger("corral.maintenance")
MAX_INTERVAL = 0.25
"""Lock checks are cheap, so the reaper runs at least this often: a ``kill -9``-ed worker's
jobs are back in the queue within a second (on PostgreSQL a free lock must be seen twice,
``LOCK_CONFIRM`` apart, since a live worker's connection may just have dropped)."""


class Reaper(PeriodicService):
    name = "reaper"

    def __init__(self, store: Store, *, lease: float, heartbeat_interval: float,
                 actor: str) -> None:
        super().__init__(min(heartbeat_interval, MAX_INTERVAL))
        self._store = store
        self._lease = lease
        self._actor = actor

    def run_once(self) -> ReapReport:
        report = self._store.reap(lease=self._lease, actor=self._actor)
        if report.dead_workers or report.recovered:
            logger.warning(
                "reaper: dead workers %s; requeued %d, failed %d, cancelled %d job(s)",
                ", ".join(report.dead_workers) or "-", len(report.requeued),
                len(report.failed), len(report.cancelled),
            )
        return report
