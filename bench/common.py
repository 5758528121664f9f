"""Helpers every benchmark scenario uses, corral's and the peers' alike."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
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
    """SIGKILLs a worker started in its own session and every process under it (some
    peers' work horses start sessions of their own), then reaps it."""
    if process.poll() is None:
        doomed = descendants(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    process.wait()


def parent(pid: int) -> int:
    """The parent of ``pid`` (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone between listing and reading
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(parent(int(entry.name)), []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def ancestor_in(pid: int, candidates: set[int]) -> int:
    """The first of ``pid`` and its ancestors that is in ``candidates`` (0 if none)."""
    while pid > 1 and pid not in candidates:
        pid = parent(pid)
    return pid if pid in candidates else 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
