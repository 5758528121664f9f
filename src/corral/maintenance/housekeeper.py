"""Housekeeping every worker does on the side: enqueue periodic tasks' ticks and finished
batches' ``on_complete`` jobs, and prune finished jobs past their retention
(``keep_completed`` / ``keep_failed``).

Both are safe with many workers doing them at once: a batch is closed by a guarded UPDATE
(once), and pruning deletes only what is already past its date.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from corral.maintenance.service import PeriodicService
from corral.periodic import Schedule, enqueue_due
from corral.store import Store

logger = logging.getLogger("corral.maintenance")
INTERVAL = 0.5
PRUNE_EVERY = 60.0


def prune(store: Store, *, keep_completed: float, keep_failed: float) -> int:
    """Deletes finished jobs older than their keep period; returns how many."""
    now = datetime.now(UTC)
    return store.prune_jobs(completed_before=now - timedelta(seconds=keep_completed),
                            failed_before=now - timedelta(seconds=keep_failed))


class Housekeeper(PeriodicService):
    name = "housekeeper"

    def __init__(self, store: Store, *, keep_completed: float, keep_failed: float,
                 actor: str, schedules: Sequence[Schedule] = ()) -> None:
        super().__init__(INTERVAL)
        self._store = store
        self._keep = (keep_completed, keep_failed)
        self._actor = actor
        self._schedules = schedules
        self._ticks_seen: dict[str, datetime] = {}
        self._pruned_at = float("-inf")

    def run_once(self) -> None:
        if self._schedules:
            enqueue_due(self._store, self._schedules, datetime.now(UTC), self._actor,
                        self._ticks_seen)
        made = self._store.complete_batches(actor=self._actor)
        if made:
            logger.info("housekeeper: enqueued %d batch completion job(s)", len(made))
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            pruned = prune(self._store, keep_completed=self._keep[0], keep_failed=self._keep[1])
            if pruned:
                logger.info("housekeeper: pruned %d finished job(s)", pruned)
