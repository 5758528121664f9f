"""Listens for notifications: wakes the claimer for new work, stops cancelled jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from corral.maintenance.service import Service
from corral.store.base import Listener

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
        on_cancel: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._listener = listener
        self._worker_id = worker_id
        self._queues = frozenset(queues)
        self._wake_claimer = wake_claimer
        self._on_cancel = on_cancel

    def step(self) -> None:
        for note in self._listener.wait():
            if note.channel == CHANNEL_JOBS and (note.queue is None or note.queue in self._queues):
                self._wake_claimer()
            elif note.channel == CHANNEL_CANCEL and note.worker_id == self._worker_id:
                for job_id in note.job_ids:
                    self._on_cancel(job_id)
