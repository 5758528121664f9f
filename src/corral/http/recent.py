"""A value computed at most once per ``max_age`` however many requests ask for it: the
dashboard header (``/stats``) is polled by every open UI and monitor, and counting jobs by
status is a scan of the jobs table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
STALE_GRACE = 2  # a value up to this many max_ages old is served while the next computes


class Recent(Generic[T]):
    """Asked on the event loop: a young value at once, with no thread hop; an older one
    (up to ``STALE_GRACE`` ages) at once too while one thread computes the next, so the
    requests of a busy moment do not all queue behind the computation (or each send a
    thread after it: 50 clients made a 100 ms tail of that); a value older still, or none
    yet, is waited for. One computation at a time, in the thread pool."""

    def __init__(self, compute: Callable[[], T], max_age: float) -> None:
        self._compute = compute
        self._max_age = max_age
        self._current: tuple[T, float] | None = None  # value, when; replaced whole
        self._next: asyncio.Future[T] | None = None  # the computation under way

    async def get(self) -> T:
        current = self._current
        age = float("inf") if current is None else time.monotonic() - current[1]
        if current is not None and age <= self._max_age:
            return current[0]
        if self._next is None or self._next.done():
            self._next = asyncio.ensure_future(run_in_threadpool(self._computed))
            # a failure nobody awaited (stale value served) is retried by the next ask,
            # not logged as "never retrieved"
            self._next.add_done_callback(_retrieved)
        if current is not None and age <= self._max_age * STALE_GRACE:
            return current[0]
        return await asyncio.shield(self._next)  # a client leaving does not cancel it

    def _computed(self) -> T:
        value = self._compute()
        self._current = (value, time.monotonic())
        return value


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
