"""A value computed at most once per ``max_age`` however many requests ask for it: the
dashboard header (``/stats``) is polled by every open UI and monitor, and counting jobs by
status is a scan of the jobs table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    """Single flight: callers that arrive while the value is being computed wait for it
    rather than compute it again."""

    def __init__(self, compute: Callable[[], T], max_age: float) -> None:
        self._compute = compute
        self._max_age = max_age
        self._lock = threading.Lock()  # guards _value and _at (request threads)
        self._value: T | None = None
        self._at = float("-inf")

    def get(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self._max_age:
                self._value = self._compute()
                self._at = time.monotonic()
            return self._value
