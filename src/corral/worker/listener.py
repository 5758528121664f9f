"""Listens for notifications: claims new work (or wakes the claimer), stops cancelled jobs.

New work is claimed on this thread, on the listener's own connection, where the store
lends it (PostgreSQL): its backend has just delivered the notification and answers faster
than a pooled one that has been idle, and the hand-off to the claimer's thread is saved. A
cancel that arrives meanwhile waits for that one claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from corral import errors
from corral.maintenance.service import Service
from corral.store.base import Listener

logger = logging.getLogger("corral.worker")
CHANNEL_JOBS = "jobs"
CHANNEL_CANCEL = "cancel"


class NotificationLoop(Service):
    name = "listener"

    def __init__(
        self,
        listener: Listener,
        worker_id: str,
        queues: Iterable[str],
        wake_claimer: Callable[[], None],
        claim_now: Callable[[], None],
        on_cancel: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._listener = listener
        self._worker_id = worker_id
        self._queues = frozenset(queues)
        self._wake_claimer = wake_claimer
        self._claim_now = claim_now
        self._on_cancel = on_cancel

    def step(self) -> None:
        new_work = False
        for note in self._listener.wait():
            if note.channel == CHANNEL_JOBS and (note.queue is None or note.queue in self._queues):
                new_work = True
            elif note.channel == CHANNEL_CANCEL and note.worker_id == self._worker_id:
                for job_id in note.job_ids:
                    self._on_cancel(job_id)
        if new_work:
            self._claim()

    def _claim(self) -> None:
        lent = self._listener.lend()
        if lent is None:
            self._wake_claimer()
            return
        try:
            with lent:
                self._claim_now()
        except errors.StoreError as exc:  # e.g. the server restarting: the claimer retries
            logger.info("claim on the listener failed (%s); the claimer takes over", exc)
            self._wake_claimer()
