"""Point reads for async routes (``GET /jobs/{id}``), batched on one thread of their own.

The store is synchronous. A plain ``def`` route runs in Starlette's thread pool, one
hand-off (a thread woken, the event loop woken back) per request: under 50 concurrent
clients those hand-offs, and forty threads fighting for the GIL, cost more than the read
itself (SQLite: ~270 us of CPU per request for the hop, 55 us for the read;
bench/PROFILES.md, issue 20). Here the keys that arrive while the thread is busy queue up
and are read in one call (on PostgreSQL one query for them all), and their answers go back
to the loop in one wake-up: the hop's cost is shared by the batch.

For short point reads only: a slow batch holds up every request behind it. Listings and
writes keep the thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
_Done = tuple["asyncio.Future[V]", "V | Exception"]


class Batcher(Generic[K, V]):
    """``await batcher.load(key)``: ``read(keys)`` on the batcher's thread for every key
    queued meanwhile, one value or exception per key, in order (an exception from ``read``
    itself, a store outage, goes to every key of its batch). The thread starts with the
    first call; ``close`` (the app's shutdown) lets it finish what is queued and end; a
    later call starts it again."""

    def __init__(self, read: Callable[[list[K]], list[V | Exception]],
                 name: str = "corral-reads") -> None:
        self._read = read
        self._name = name
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._ready = threading.Condition()  # guards _pending and _thread
        self._thread: tuple[threading.Thread, threading.Event] | None = None  # and its stop

    async def load(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        with self._ready:
            self._pending.append((key, future))
            if self._thread is None:
                stop = threading.Event()
                thread = threading.Thread(target=self._serve, args=(stop,), name=self._name,
                                          daemon=True)
                self._thread = thread, stop
                thread.start()
            elif len(self._pending) == 1:
                self._ready.notify_all()
        return await future

    def close(self) -> None:
        with self._ready:
            current, self._thread = self._thread, None
            if current is None:
                return
            current[1].set()
            self._ready.notify_all()
        current[0].join()

    def _serve(self, stop: threading.Event) -> None:
        while True:
            with self._ready:
                while not self._pending and not stop.is_set():
                    self._ready.wait()
                batch, self._pending = self._pending, []
            if not batch:  # stopped, nothing left
                return
            by_loop: dict[asyncio.AbstractEventLoop, list[_Done[V]]] = {}
            for (_, future), outcome in zip(batch, self._outcomes(batch), strict=True):
                by_loop.setdefault(future.get_loop(), []).append((future, outcome))
            for loop, done in by_loop.items():
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                    loop.call_soon_threadsafe(_settle, done)

    def _outcomes(self, batch: list[tuple[K, asyncio.Future[V]]]) -> list[V | Exception]:
        try:
            return self._read([key for key, _ in batch])
        except Exception as exc:  # the whole batch failed (the store is unreachable)
            return [exc] * len(batch)


def _settle(done: list[_Done[V]]) -> None:
    for future, outcome in done:
        if future.done():  # the request was cancelled (client gone) meanwhile
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
