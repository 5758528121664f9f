"""The one shape of every maintenance loop: ``run_once()`` every ``interval`` (+ jitter).

Tests call ``run_once()`` directly; the loop only adds timing, logging and stop.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from corral.worker.loop import ServiceThread

logger = logging.getLogger("corral.maintenance")


class PeriodicService(ServiceThread):
    """Calls ``run_once()`` every ``interval`` seconds, jittered by up to 10% so services
    of many workers do not fire in lockstep."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval

    def run_once(self) -> Any:
        raise NotImplementedError

    def step(self) -> None:
        if self.stopping.wait(self.interval * random.uniform(0.9, 1.1)):
            return
        self.run_once()
