"""The shape every background thread of a worker shares: ``step()`` until stopped.

A step that raises is logged and retried after a short, growing pause, so a store that is
briefly unreachable slows a loop down instead of killing it.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("corral.worker")


class ServiceThread:
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

    def _run(self) -> None:
        pause = 0.05
        while not self.stopping.is_set():
            try:
                self.step()
                pause = 0.05
            except Exception:
                logger.exception("%s loop failed; retrying in %.2fs", self.name, pause)
                self.stopping.wait(pause)
                pause = min(pause * 2, 2.0)
