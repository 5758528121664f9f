"""Housekeeping every worker does on the side: enqueue periodic tasks' ticks and finished
batches' ``on_complete`` jobs. (Deleting what is past its retention is the pruner's.)

Both are safe with many workers doing them at once: a tick is enqueued by the first to
insert its ``(name, tick)`` row, and a batch is closed by a guarded UPDATE (once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from corral.maintenance.service import PeriodicService
from corral.periodic import Schedule, enqueue_due
from corral.store import Store

logger = logging.getLogger("corral.maintenance")
INTERVAL = 0.5


class Housekeeper(PeriodicService):
    name = "housekeeper"

    def __init__(self, store: Store, *, actor: str,
                 schedules: Sequence[Schedule] = ()) -> None:
        super().__init__(INTERVAL)
        self._store = store
        self._actor = actor
        self._schedules = schedules
        self._ticks_seen: dict[str, datetime] = {}  # written and read by this loop only

    def run_once(self) -> list[str]:
        """One pass; returns the ids of the jobs it enqueued (ticks, then completions)."""
        ticks = []
        if self._schedules:
            ticks = enqueue_due(self._store, self._schedules, datetime.now(UTC), self._actor,
                                self._ticks_seen)
        made = self._store.complete_batches(actor=self._actor)
        if made:
            logger.info("housekeeper: enqueued %d batch completion job(s)", len(made))
        return ticks + made
