"""The pruner: the one place that deletes what has served its time.

Every ``INTERVAL`` (jittered) one pass deletes

- finished jobs past their retention (``keep_completed`` / ``keep_failed``; the ticks of
  periodic tasks go with completed jobs' cutoff, inside ``prune_jobs``),
- notifications older than ``NOTIFICATION_RETENTION`` and the change feeds of servers that
  died (``prune_notifications``),
- the rows of workers dead or stopped for ``WORKER_RETENTION`` (``prune_workers``).

Every worker runs one; each statement deletes only what is already past its date, so any
number of pruners at once do no harm. The reaper only reaps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from corral.maintenance.service import PeriodicService
from corral.store import Store

logger = logging.getLogger("corral.maintenance")
INTERVAL = 60.0
NOTIFICATION_RETENTION = timedelta(minutes=5)
WORKER_RETENTION = 3600.0


@dataclass(frozen=True)
class PruneReport:
    """What one pruner pass deleted."""

    jobs: int = 0
    notifications: int = 0
    workers: int = 0


def prune_jobs(store: Store, *, keep_completed: float, keep_failed: float) -> int:
    """Deletes finished jobs older than their keep period; returns how many."""
    now = datetime.now(UTC)
    return store.prune_jobs(completed_before=now - timedelta(seconds=keep_completed),
                            failed_before=now - timedelta(seconds=keep_failed))


class Pruner(PeriodicService):
    name = "pruner"

    def __init__(self, store: Store, *, keep_completed: float, keep_failed: float,
                 keep_workers: float = WORKER_RETENTION, interval: float = INTERVAL) -> None:
        super().__init__(interval, at_start=True)  # as the housekeeper pruned at start
        self._store = store
        self._keep_completed = keep_completed
        self._keep_failed = keep_failed
        self._keep_workers = keep_workers

    def run_once(self) -> PruneReport:
        report = PruneReport(
            jobs=prune_jobs(self._store, keep_completed=self._keep_completed,
                            keep_failed=self._keep_failed),
            notifications=self._store.prune_notifications(
                datetime.now(UTC) - NOTIFICATION_RETENTION),
            workers=self._store.prune_workers(gone_for=self._keep_workers),
        )
        if report.jobs or report.workers:
            logger.info("pruner: deleted %d finished job(s), %d old worker row(s)",
                        report.jobs, report.workers)
        return report
