"""Liveness locks for SQLite: one OS lock file per worker, next to the database.

A worker holds an exclusive ``flock`` on ``<db>.workers/<worker_id>.lock`` for as long as
its process lives. The kernel drops the lock the moment the process dies (``kill -9``
included), so any reaper on the host learns of the death by trying the lock, without
waiting for a heartbeat to go stale. ``flock`` locks belong to the open file, so a reaper
in the same process as a live worker still sees that worker's lock as held.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
from pathlib import Path


def lock_path(db_path: str, worker_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in worker_id)
    return Path(f"{db_path}.workers") / f"{safe}.lock"


class LivenessLock:
    """The lock a worker holds while alive."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    fence_after = math.inf  # a file lock cannot be lost while the process lives

    def unconfirmed_for(self, now: float) -> float:
        return 0.0

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the lock
        self._fd = None


def is_dead(path: Path) -> bool:
    """True when no live process holds the lock (or the file is gone: never a live lock).
    A dead worker's file is removed so it is not tried again."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        path.unlink()
    return True
