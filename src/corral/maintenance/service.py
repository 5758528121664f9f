"""The one shape of every background loop of a worker or server, in one place.

``Service`` runs ``step()`` in a daemon thread until ``stop()``; a step that raises is
logged with its traceback and retried after a short, growing pause (0.05 s doubling to
2 s), so a store that is briefly unreachable slows a loop down instead of killing it.

``PeriodicService`` is the common case: ``run_once()`` every ``interval`` (+ jitter) does
the work and returns what it did; tests call ``run_once()`` directly. Loops driven by an
event rather than a clock (the claimer waits on its wake event, the recorder on its queue,
the listener on its socket) write a blocking ``step()`` on the same base instead.

This module imports nothing of corral's: the worker, the server and every maintenance
service build on it, and it depends on none of them.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

logger = logging.getLogger("corral.worker")  # every loop runs inside a worker's process
FIRST_PAUSE = 0.05
MAX_PAUSE = 2.0


class Service:
    """Runs ``step()`` in a daemon thread until ``stop()``; subclasses wait inside step."""

    name = "service"

    def __init__(self) -> None:
        self.stopping = threading.Event()  # set by stop(), read by the loop
        self._thread = threading.Thread(target=self._run, name=f"corral-{self.name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def step(self) -> None:
        raise NotImplementedError

    def ended(self) -> None:
        """Called on the loop's thread once the loop ends: let go of what it held."""

    def _run(self) -> None:
        pause = FIRST_PAUSE
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                    pause = FIRST_PAUSE
                except Exception:
                    logger.exception("%s loop failed; retrying in %.2fs", self.name, pause)
                    self.stopping.wait(pause)
                    pause = min(pause * 2, MAX_PAUSE)
        finally:
            self.ended()


class PeriodicService(Service):
    """Calls ``run_once()`` every ``interval`` seconds. With ``jitter`` (a fraction; 10% by
    default) each wait is drawn from ``interval * (1 ± jitter)``, so the services of many
    workers do not fire in lockstep; a loop tied to its own clock (heartbeat, watchdog)
    passes ``jitter=0``. With ``at_start`` the first pass runs as soon as the thread
    starts instead of one interval later (for a long interval: the pruner's minute)."""

    def __init__(self, interval: float, *, jitter: float = 0.1, at_start: bool = False) -> None:
        super().__init__()
        self.interval = interval
        self.jitter = jitter
        self._due_now = at_start  # read and cleared by the loop's thread only

    def run_once(self) -> Any:
        """Do one pass of the work; return what it did (counts, a report)."""
        raise NotImplementedError

    def step(self) -> None:
        if self._due_now:
            self._due_now = False
            self.run_once()
            return
        if self.stopping.wait(self.next_wait()):
            return
        self.run_once()

    def next_wait(self) -> float:
        """Seconds until the next pass: the interval, jittered."""
        wait = self.interval
        if self.jitter:
            wait *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return wait
