"""Helpers every benchmark scenario uses, corral's and the peers' alike."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any


def wait(condition: Callable[[], Any], timeout: float, interval: float = 0.0005) -> Any:
    """Polls ``condition`` until it is truthy (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met in time")
        time.sleep(interval)
    return value


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILLs a worker started in its own session, children included, and reaps it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
